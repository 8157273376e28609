/**
 * The credentials of the app `npm start` registers with its emulator. `cli probe --env local`
 * uses the same ones, so it authenticates as the local proxy does.
 */
export const LOCAL_API_KEY = 'local-api-key';
export const LOCAL_CLIENT_SECRET = 'local-client-secret';
