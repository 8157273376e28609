/** `npm run build:doctor-page`: writes the self-contained browser doctor page to dist/doctor.html. */
import { relative } from 'node:path';
import { DOCTOR_PAGE_FILE, writeDoctorPage } from '../web/doctor/build.js';

const page = await writeDoctorPage();
console.log(
  `wrote ${relative(process.cwd(), DOCTOR_PAGE_FILE)} (${page.htmlBytes} bytes, script ${page.scriptBytes} bytes); open it in a browser, no server needed`,
);
