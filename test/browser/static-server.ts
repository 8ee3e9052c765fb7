/** The static server of `bert-ts serve --static`, for the browser tests and bench. */
export { startStaticServer, type StaticServer } from "../../src/server/static-files.js";
