import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, expect } from 'vitest';
import { captureOutput, findLeaks } from './helpers/leak-guard.js';

captureOutput();

afterAll(() => {
  expect(findLeaks(), 'secrets found in output or inspected logs/bodies').toEqual([]);
});
