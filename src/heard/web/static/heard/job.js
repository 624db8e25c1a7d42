// Live progress for a background job: polls the job's JSON endpoint until it finishes.
// Without JavaScript, the page refreshes itself instead (a <noscript> meta refresh).
const box = document.getElementById("job");
if (box) {
  const url = box.dataset.statusUrl;
  const bar = document.getElementById("job-progress");
  const state = document.getElementById("job-state");
  const stage = document.getElementById("job-stage");
  const percent = document.getElementById("job-percent");
  const tick = async () => {
    try {
      const reply = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!reply.ok) throw new Error(String(reply.status));
      const job = await reply.json();
      bar.value = job.percent;
      bar.textContent = `${job.percent}%`;
      percent.textContent = job.percent;
      state.textContent = job.status;
      stage.textContent = job.stage || "";
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
