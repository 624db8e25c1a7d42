// Copy GOV.UK Frontend's compiled CSS, JS and images into ../build/heard/govuk/,
// where the Django app serves them as static files. Run by `make frontend`.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "node_modules", "govuk-frontend", "dist", "govuk");
const out = join(here, "..", "build", "heard", "govuk");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// The stylesheet points at /assets/…; make those paths relative to the stylesheet.
// The GDS Transport typeface is only licensed for GOV.UK domains, so its @font-face
// rules are dropped and text falls back to Arial, as the design system advises.
let css = readFileSync(join(dist, "govuk-frontend.min.css"), "utf8");
css = css.replace(/@font-face\{[^}]*\}/g, "").replaceAll("url(/assets/", "url(assets/");
writeFileSync(join(out, "govuk-frontend.min.css"), css);
cpSync(join(dist, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
cpSync(join(dist, "assets", "images"), join(out, "assets", "images"), { recursive: true });
const { version } = JSON.parse(
  readFileSync(join(here, "node_modules", "govuk-frontend", "package.json"), "utf8"),
);
writeFileSync(join(out, "VERSION"), `${version}\n`);
console.log(`GOV.UK Frontend ${version} copied to ${out}`);
