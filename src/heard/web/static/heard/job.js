// Live progress for a background job: polls the job's JSON endpoint until it finishes.
// Without JavaScript, the page refreshes itself instead (a <noscript> meta refresh).
const box = document.getElementById("job");
if (box) {
  const url = box.dataset.statusUrl;
  const bar = document.getElementById("job-progress");
  const state = document.getElementById("job-state");
  const stage = document.getElementById("job-stage");
  const stagePart = document.getElementById("job-stage-part");
  const percent = document.getElementById("job-percent");
  const waiting = document.getElementById("job-waiting");
  const firstPass = document.getElementById("job-first-pass");
  const firstCount = document.getElementById("job-first-count");
  const tick = async () => {
    try {
      const reply = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!reply.ok) throw new Error(String(reply.status));
      const job = await reply.json();
      bar.value = job.percent;
      bar.textContent = `${job.percent}%`;
      percent.textContent = job.percent;
      state.textContent = job.status;
      stage.textContent = job.line || "";
      stagePart.hidden = !job.line;
      if (waiting) waiting.hidden = job.status !== "pending";
      if (firstPass) {
        firstPass.hidden = !job.first_pass.length;
        firstCount.textContent = job.first_pass.length;
      }
      if (job.finished) {
        window.location.reload();
        return;
      }
    } catch (error) {
      // A network hiccup: try again on the next tick.
    }
    window.setTimeout(tick, 1500);
  };
  if (!["done", "failed", "cancelled"].includes(state.textContent)) window.setTimeout(tick, 1000);
}
