// Enhances the server-rendered pages; everything works without it.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();

// Bar widths come as data attributes: the Content-Security-Policy allows no inline styles,
// while styles set from a script file are allowed.
for (const bar of document.querySelectorAll("[data-width]")) {
  if (/^\d+(\.\d+)?%$/.test(bar.dataset.width)) bar.style.width = bar.dataset.width;
}
