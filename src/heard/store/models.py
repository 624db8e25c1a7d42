"""Heard's data model.

A consultation has questions; respondents give responses to questions. Analysis runs
produce themes, assignments of responses to themes, duplicate groups (campaigns),
and an outcome for every response, so that counts in always equal counts out.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Consultation(models.Model):
    name = models.SlugField(max_length=100, unique=True, help_text="Short name used on the CLI.")
    title = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportBatch(models.Model):
    """One `heard import` that landed: what it read and what it stored."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="imports")
    sources = models.JSONField(default=list, help_text="[{path, sha256, format, shape, rows}]")
    fingerprint = models.CharField(max_length=64, db_index=True, help_text="sha256 over sources")
    mapping = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True, help_text="Validation report.")
    rows_read = models.PositiveIntegerField(default=0)
    responses_stored = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "fingerprint"], name="import_once_per_consultation"
            )
        ]


class Question(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", "Open (free text)"
        CLOSED = "closed", "Closed (options)"
        DEMOGRAPHIC = "demographic", "Demographic"

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="questions"
    )
    key = models.CharField(max_length=200, help_text="The question's id in the source.")
    text = models.TextField(blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.OPEN)
    options = models.JSONField(default=list, blank=True, help_text="Known options (closed).")
    multiple = models.BooleanField(default=False, help_text="Closed: several options allowed.")
    position = models.PositiveIntegerField(default=0)
    paired_closed = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="open_followups",
        help_text="For an open 'why' question: the closed question it follows.",
    )
    stage = models.CharField(
        max_length=20,
        default="draft",
        choices=[
            ("draft", "Draft"),
            ("themes_agreed", "Themes agreed"),
            ("mapping_reviewed", "Mapping reviewed"),
            ("final", "Final"),
        ],
    )
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    stage_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who signed off the current stage.",
    )

    class Meta:
        ordering = ["consultation", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "key"], name="question_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.text[:60]}"


class Respondent(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        ORGANISATION = "organisation", "Organisation"
        UNKNOWN = "unknown", "Unknown"

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="respondents"
    )
    key = models.CharField(max_length=200, help_text="The respondent's id in the source.")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.UNKNOWN)
    organisation = models.CharField(max_length=300, blank=True)
    attributes = models.JSONField(default=dict, blank=True, help_text="Demographics and more.")
    import_batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["consultation", "id"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "key"], name="respondent_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class DuplicateGroup(models.Model):
    """Exact copies, near-verbatim copies, or an organised campaign, within one question."""

    class Kind(models.TextChoices):
        EXACT = "exact", "Exact copies"
        NEAR = "near", "Near-verbatim copies"
        CAMPAIGN = "campaign", "Campaign (form letter with edits)"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="groups")
    run = models.ForeignKey("Run", null=True, blank=True, on_delete=models.CASCADE)
    key = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    canonical_text = models.TextField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["question", "-size"]


class Response(models.Model):
    """One answer by one respondent to one question, with its latest analysis outcome."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Not analysed yet"
        MAPPED = "mapped", "Mapped to themes"
        OTHER = "other", "Other"
        EMPTY = "empty", "No substantive answer"
        UNPROCESSABLE = "unprocessable", "Unprocessable"

    class Stance(models.TextChoices):
        AGREE = "agree", "Agree"
        DISAGREE = "disagree", "Disagree"
        UNCLEAR = "unclear", "Unclear"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="responses")
    respondent = models.ForeignKey(Respondent, on_delete=models.CASCADE, related_name="responses")
    key = models.CharField(max_length=200, blank=True, help_text="The answer's id in the source.")
    text = models.TextField(blank=True)
    options = models.JSONField(default=list, blank=True, help_text="Chosen options (closed).")
    language = models.CharField(max_length=12, blank=True)
    content_hash = models.CharField(max_length=40, db_index=True, blank=True)
    is_empty = models.BooleanField(default=False)
    source = models.JSONField(default=dict, blank=True, help_text="{file, row, column, page…}")
    import_batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    outcome = models.CharField(max_length=14, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_reason = models.CharField(max_length=300, blank=True)
    stance = models.CharField(max_length=10, choices=Stance.choices, blank=True)
    stance_confidence = models.FloatField(null=True, blank=True)
    evidence_rich = models.BooleanField(null=True, blank=True)
    evidence_reason = models.CharField(max_length=300, blank=True)
    group = models.ForeignKey(
        DuplicateGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    is_read = models.BooleanField(default=False)
    is_flagged = models.BooleanField(default=False)
    # Analysts' edits of the response's coding are version-locked and name the last editor.
    version = models.PositiveIntegerField(default=1, help_text="For optimistic locking.")
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Who last changed the response's coding.",
    )
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["question", "id"]
        indexes = [
            models.Index(fields=["question", "outcome"]),
            models.Index(fields=["question", "stance"]),
            models.Index(fields=["respondent", "question"]),
            # covers "this question's answers by these respondents with this stance"
            models.Index(
                fields=["respondent", "question", "stance"], name="response_resp_q_stance"
            ),
            models.Index(fields=["question", "evidence_rich"], name="response_q_evidence"),
            models.Index(fields=["question", "group"], name="response_q_group"),
        ]


class Run(models.Model):
    """An analysis run: its stage, progress, parameters, seed, model versions and timings."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="runs")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=30, default="analyse")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0)
    params = models.JSONField(default=dict, blank=True)
    seed = models.IntegerField(default=0)
    versions = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    state = models.JSONField(default=dict, blank=True, help_text="Checkpoints for resume.")
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life from the worker running this job."
    )
    worker = models.CharField(max_length=100, blank=True, help_text="Worker that claimed it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="run_status_created")]


class RunLLM(models.Model):
    """The LLM stage of one run: which model, which stages, and (per question) what it cost
    and which responses were sent. A run without one used no LLM."""

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="llm_record")
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=200)
    stages = models.JSONField(default=list, help_text="Stages asked for, in order.")
    budget = models.FloatField(null=True, blank=True, help_text="Spending limit, if any.")
    currency = models.CharField(max_length=10, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}"


class RunLLMQuestion(models.Model):
    """What the LLM stage did for one question of a run; its row marks the question done."""

    llm = models.ForeignKey(RunLLM, on_delete=models.CASCADE, related_name="questions")
    question = models.ForeignKey("Question", on_delete=models.CASCADE, related_name="+")
    calls = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.FloatField(default=0.0)
    responses = models.PositiveIntegerField(
        default=0, help_text="The question's responses when the stage ran."
    )
    sent_ids = models.JSONField(
        default=list, help_text="Ids of the responses whose text was sent to the LLM."
    )
    sent_recorded = models.BooleanField(
        default=True, help_text="False for runs made before Heard recorded what was sent."
    )
    stages = models.JSONField(default=dict, blank=True, help_text="Per stage: what it did.")
    by_task = models.JSONField(default=dict, blank=True, help_text="Calls and tokens per task.")
    outcomes = models.JSONField(default=dict, blank=True)
    failures = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    redaction = models.JSONField(default=dict, blank=True, help_text="PII replaced, by kind.")
    injection_flags = models.JSONField(default=list, blank=True)
    summaries = models.JSONField(
        default=dict, blank=True, help_text='Per theme key ("" for the question).'
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["llm", "id"]
        constraints = [
            models.UniqueConstraint(fields=["llm", "question"], name="run_llm_question_once")
        ]

    @property
    def sent(self) -> int:
        return len(self.sent_ids)


class Theme(models.Model):
    """A theme of one question; ``parent`` gives the two-level hierarchy."""

    class Origin(models.TextChoices):
        AI = "ai", "Proposed by analysis"
        CODEBOOK = "codebook", "From a codebook"
        ANALYST = "analyst", "Added by an analyst"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="themes")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    key = models.CharField(max_length=100)
    label = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    key_phrases = models.JSONField(default=list, blank=True)
    quotes = models.JSONField(default=list, blank=True, help_text="[{response_id, text}]")
    position = models.PositiveIntegerField(default=0)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.AI)
    side = models.SmallIntegerField(
        default=0, choices=[(1, "Supporters"), (-1, "Opponents"), (0, "No side")],
        help_text="A theme of one side's answers: +1 supporters, -1 opponents, 0 none.",
    )
    version = models.PositiveIntegerField(default=1, help_text="For optimistic locking.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["question", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["question", "key"], name="theme_key_unique")
        ]

    def __str__(self) -> str:
        return self.label


class Assignment(models.Model):
    """A response says something a theme captures."""

    class Origin(models.TextChoices):
        AI = "ai", "Analysis"
        HUMAN = "human", "Analyst"

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="assignments")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="assignments")
    confidence = models.FloatField(null=True, blank=True)
    origin = models.CharField(max_length=6, choices=Origin.choices, default=Origin.AI)
    ai_original = models.BooleanField(
        default=False, help_text="The analysis proposed this; kept for AI-vs-human agreement."
    )
    is_active = models.BooleanField(default=True, help_text="False once an analyst removes it.")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "theme"], name="assignment_unique")
        ]
        indexes = [models.Index(fields=["theme", "is_active"])]


class EmbeddingCache(models.Model):
    """Vectors by model and content hash, so that a re-run does not embed again."""

    model = models.CharField(max_length=100)
    content_hash = models.CharField(max_length=40)
    vector = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "content_hash"], name="embedding_unique")
        ]


class AuditEvent(models.Model):
    """Who changed what, when, with the state before and after (so it can be reverted).

    A change made by a person has ``user``; one made by a stage of an analysis run (the LLM
    stage merging or relabelling themes) has ``run`` instead.
    """

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="audit")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit",
        help_text="The run whose stage made this change (empty for a person's change).",
    )
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=40)
    target_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reverted = models.BooleanField(default=False)
    retired_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retired",
        help_text="For an analyst's coding of a response: the event that retired it when a "
                  "run replaced the themes it was made against (it no longer counts).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def actor(self) -> str:
        """Who made the change, in words."""
        if self.user is not None:
            return self.user.email or self.user.get_username()
        if self.run_id is not None:
            if self.action == RETIRE_CODINGS:
                return f"Run {self.run_id}"
            return f"LLM stage of run {self.run_id}"
        return "system"


#: The action of the event a run writes when it replaces a question's themes while analysts'
#: codings were made against them (:func:`heard.store.audit.retire_codings`).
RETIRE_CODINGS = "retire codings"


class Membership(models.Model):
    """A user's role in one consultation, or in every consultation when it is empty."""

    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        ANALYST = "analyst", "Analyst"
        LEAD = "lead", "Lead"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    consultation = models.ForeignKey(
        Consultation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
        help_text="Empty: the role applies to every consultation.",
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["consultation", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "consultation"], name="membership_once_per_consultation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} {self.consultation or '(all)'}"


class SignInLimit(models.Model):
    """Sign-in attempts counted in a window, for one account or one network address.

    ``key`` is ``account:<email>`` or ``address:<ip>``. An attempt is reserved by one
    conditional UPDATE before the password is checked, so parallel attempts cannot exceed
    the limit (see heard.web.ratelimit).
    """

    key = models.CharField(max_length=320, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()


class RunLease(models.Model):
    """The right to analyse one consultation: at most one live holder at a time.

    A holder keeps it alive by moving ``expires_at`` forward (a heartbeat); a lease whose
    holder crashed expires and the next run takes it over (pipeline/leases.py).
    """

    consultation = models.OneToOneField(
        Consultation, on_delete=models.CASCADE, related_name="lease"
    )
    holder = models.CharField(max_length=200, help_text="host:pid:thread:token of the holder.")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"lease on {self.consultation_id} held by {self.holder}"


class ReviewSkip(models.Model):
    """A response an analyst skipped in blind review. Blind review shows that analyst the
    responses they have not skipped first; the skipped ones come back, longest skipped
    first, once nothing else is left (skipping one again sends it to the back)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    skipped_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "response"], name="review_skip_unique")
        ]
