"""What each change in the history did, in words: the question it touched and, per theme or
response, the value before and after (read from the event's snapshots)."""

from __future__ import annotations

from dataclasses import dataclass, field

from heard.store.audit import REMAP_ACTION
from heard.store.models import RETIRE_CODINGS, AuditEvent, Question, Run, Theme
from heard.web.editing import STAGE_LABELS

DETAILED_RESPONSES = 5  # responses described one by one; more are counted
TOP_LEVEL = "the top level"


@dataclass
class Change:
    """One history entry, ready to show."""

    event: AuditEvent
    question: Question | None
    details: list[str] = field(default_factory=list)


def describe(events: list[AuditEvent]) -> list[Change]:
    """The events with their question and what changed, before → after."""
    question_ids = {(e.before or {}).get("question_id") for e in events}
    questions = Question.objects.in_bulk([q for q in question_ids if q])
    labels = _labels(events)
    return [Change(e, questions.get((e.before or {}).get("question_id")), details(e, labels))
            for e in events]


def _labels(events: list[AuditEvent]) -> dict[int, str]:
    """Theme labels by id: from the snapshots (oldest first), then the current themes."""
    labels: dict[int, str] = {}
    for event in reversed(events):
        for side in (event.before or {}, event.after or {}):
            for theme in side.get("themes", []):
                labels[theme["id"]] = theme["label"]
    wanted = {
        a[0] for e in events for side in (e.before or {}, e.after or {})
        for r in (side.get("responses") or {}).values() for a in r["assignments"]
    } | {t["parent_id"] for e in events for side in (e.before or {}, e.after or {})
         for t in side.get("themes", []) if t.get("parent_id")}
    labels.update(Theme.objects.filter(id__in=wanted - set(labels)).values_list("id", "label"))
    return labels


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def _place(parent_id: int | None, labels: dict[int, str]) -> str:
    return _quote(labels.get(parent_id, f"theme #{parent_id}")) if parent_id else TOP_LEVEL


def details(event: AuditEvent, labels: dict[int, str]) -> list[str]:
    """What ``event`` changed, one line per change, each with its before and after."""
    before, after = event.before or {}, event.after or {}
    if event.action == REMAP_ACTION:
        return _remap(event)
    if event.action == RETIRE_CODINGS:
        return _retired(event)
    lines: list[str] = []
    if event.retired_by_id is not None:
        run = event.retired_by.run_id if event.retired_by else None
        lines.append(f"Retired{f' by run {run}' if run else ''}: made against themes since "
                     "replaced, this coding no longer counts")
    if "reverts" in after:
        lines.append(f"Undid change #{after['reverts']}:")
    if "consultation" in before and "consultation" in after:
        old, new = before["consultation"], after["consultation"]
        lines.extend(f"{field.capitalize()} {_quote(old.get(field) or '(none)')} → "
                     f"{_quote(new[field] or '(none)')}"
                     for field in new if old.get(field) != new[field])
    if "stage" in before and "stage" in after:
        old, new = before["stage"]["stage"], after["stage"]["stage"]
        lines.append(f"Sign-off: {STAGE_LABELS.get(old, old)} → {STAGE_LABELS.get(new, new)}")
    old_themes = {t["id"]: t for t in before.get("themes", [])}
    new_themes = {t["id"]: t for t in after.get("themes", [])}
    responses = after.get("responses") or {}
    created = [t for tid, t in new_themes.items() if tid not in old_themes]
    removed = [t for tid, t in old_themes.items() if tid not in new_themes]
    if event.action == "split theme" and created and not removed:
        source = old_themes.get(event.target_id, {}).get("label", "")
        lines.append(f"{len(responses)} response{'s' if len(responses) != 1 else ''} split from "
                     f"{_quote(source)} into {_quote(created[0]['label'])}")
        return lines
    if event.action == "merge themes":
        target = new_themes.get(event.target_id, {}).get("label", "")
        lines.append(f"{', '.join(_quote(t['label']) for t in removed)} merged into "
                     f"{_quote(target)}; {len(responses)} response(s) of them now in "
                     f"{_quote(target)}")
        return lines
    for theme in created:
        lines.append(f"New theme {_quote(theme['label'])} under "
                     f"{_place(theme['parent_id'], labels)}")
    for tid, theme in new_themes.items():
        old = old_themes.get(tid)
        if old is None:
            continue
        if old["label"] != theme["label"]:
            lines.append(f"Label {_quote(old['label'])} → {_quote(theme['label'])}")
        if old["description"] != theme["description"]:
            lines.append(f"Description of {_quote(theme['label'])}: "
                         f"{_quote(old['description']) if old['description'] else '(none)'} → "
                         f"{_quote(theme['description']) if theme['description'] else '(none)'}")
        if old["parent_id"] != theme["parent_id"]:
            lines.append(f"{_quote(theme['label'])} moved from "
                         f"{_place(old['parent_id'], labels)} to "
                         f"{_place(theme['parent_id'], labels)}")
        elif old["position"] != theme["position"] and tid == event.target_id:
            way = "up" if theme["position"] < old["position"] else "down"
            lines.append(f"{_quote(theme['label'])} moved {way} among its siblings")
    for theme in removed:
        lines.append(f"Removed theme {_quote(theme['label'])}")
    if "copies" in after:
        lines.append(f"1 response and its {after['copies']} copies")
    lines.extend(_responses(before.get("responses") or {}, responses, labels))
    return lines or ["No visible change"]


def _coding(snapshot: dict, labels: dict[int, str]) -> str:
    active = sorted(labels.get(a[0], f"theme #{a[0]}") for a in snapshot["assignments"] if a[3])
    return "{" + ", ".join(_quote(label, 40) for label in active) + "}"


def _responses(before: dict, after: dict, labels: dict[int, str]) -> list[str]:
    """Per response: coding, stance, evidence flag, flag and outcome, before → after."""
    lines: list[str] = []
    changed = 0
    for rid, new in after.items():
        old = before.get(rid)
        if old is None:
            continue
        parts = []
        if _coding(old, labels) != _coding(new, labels):
            parts.append(f"coding {_coding(old, labels)} → {_coding(new, labels)}")
        if old["stance"] != new["stance"]:
            parts.append(f"stance {old['stance'] or '(none)'} → {new['stance'] or '(none)'}")
        if old["evidence_rich"] != new["evidence_rich"]:
            parts.append(f"evidence-rich {_yes(old['evidence_rich'])} → "
                         f"{_yes(new['evidence_rich'])}")
        if old["is_flagged"] != new["is_flagged"]:
            parts.append("flagged" if new["is_flagged"] else "flag removed")
        if old["outcome"] != new["outcome"]:
            parts.append(f"outcome {old['outcome']} → {new['outcome']}")
        if parts:
            changed += 1
            if changed <= DETAILED_RESPONSES:
                lines.append(f"Response #{rid}: " + "; ".join(parts))
    if changed > DETAILED_RESPONSES:
        lines.append(f"… and {changed - DETAILED_RESPONSES} more response(s) changed")
    return lines


def _yes(value) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _remap(event: AuditEvent) -> list[str]:
    before, after = event.before or {}, event.after or {}
    lines = []
    changed = after.get("changed")
    if changed:
        lines.append(f"{changed['added'] + changed['removed']} assignment(s) changed: "
                     f"{changed['added']} added, {changed['removed']} removed, in "
                     f"{changed['responses']} response(s)")
    else:
        run = event.run
        status = run.get_status_display().lower() if run is not None else "removed"
        finished = run is not None and run.status == Run.Status.DONE
        lines.append("The re-map job finished without counting its changes" if finished else
                     f"The re-map job is {status}; its changes show here when it finishes")
    old, new = before.get("sign_off"), after.get("sign_off")
    if old and new and old != new:
        lines.append(f"Sign-off: {STAGE_LABELS.get(old, old)} → {STAGE_LABELS.get(new, new)}")
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _retired(event: AuditEvent) -> list[str]:
    """A run replaced the question's themes: what became of the analysts' work."""
    before, after = event.before or {}, event.after or {}
    how = "mapped to a codebook" if after.get("source") == "codebook" else "discovered afresh"
    lines = [f"Themes {how}: {_plural(before.get('theme_count', 0), 'theme')} replaced by "
             f"{after.get('theme_count', 0)}"]
    if after.get("coded_responses"):
        blind = after.get("blind", 0)
        lines.append(f"Analysts' codings of {_plural(after['coded_responses'], 'response')} "
                     "retired"
                     + (f" ({blind} last coded in blind review)" if blind else "")
                     + ": made against the replaced themes, they no longer count in agreement, "
                       "and the responses are back in blind review")
    if after.get("analyst_coded"):
        lines.append(f"{_plural(after['analyst_coded'], 'response')} lost the themes analysts "
                     "had chosen for them and took the run's; stance and evidence flags set "
                     "by analysts are kept")
    return lines
