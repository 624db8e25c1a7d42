// Enhances the server-rendered pages; everything works without it.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
