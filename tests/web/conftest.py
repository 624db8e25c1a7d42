"""Analysed consultations built directly with the ORM, and one user per role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from heard.store.models import (
    Assignment,
    Consultation,
    DuplicateGroup,
    Membership,
    Question,
    Respondent,
    Response,
    Run,
    Theme,
)

PASSWORD = "correct-horse-battery"
ROLES = ["viewer", "analyst", "lead", "admin"]
TEXTS = [
    "Parking charges are too high for people on low incomes; I pay 40 pounds a month.",
    "More buses would mean fewer cars in the centre.",
    "The cycle lanes feel unsafe at night near the station.",
    "I agree with the plan because the air is dirty.",
    "Shops will lose trade if parking costs more.",
]


@dataclass
class Built:
    consultation: Consultation
    question: Question
    closed: Question
    themes: dict[str, Theme]
    responses: list[Response]


def build_consultation(name: str, n: int = 30) -> Built:
    consultation = Consultation.objects.create(name=name, title=f"{name.title()} consultation")
    closed = Question.objects.create(consultation=consultation, key="q1", text="Do you agree?",
                                     kind="closed", options=["Agree", "Disagree"], position=0)
    question = Question.objects.create(consultation=consultation, key="q1_why",
                                       text="Why do you say that?", kind="open", position=1,
                                       paired_closed=closed)
    Question.objects.create(consultation=consultation, key="region", text="Region",
                            kind="demographic", options=["North", "South"], position=2)
    run = Run.objects.create(consultation=consultation, status="done", params={
        "embedder": "static"})
    cost = Theme.objects.create(question=question, key="cost", label="Cost", position=0, run=run)
    themes = {
        "cost": cost,
        "charges": Theme.objects.create(question=question, key="charges", label="Charges",
                                        parent=cost, position=1, run=run),
        "trade": Theme.objects.create(question=question, key="trade", label="Local trade",
                                      parent=cost, position=2, run=run),
        "transport": Theme.objects.create(question=question, key="transport",
                                          label="Public transport", position=3, run=run),
        "safety": Theme.objects.create(question=question, key="safety", label="Safety",
                                       position=4, run=run),
    }
    campaign = DuplicateGroup.objects.create(question=question, key="c1", kind="campaign",
                                             canonical_text=TEXTS[1], size=5)
    responses = []
    for i in range(n):
        person = Respondent.objects.create(
            consultation=consultation, key=f"{name}-r{i}",
            kind="organisation" if i % 7 == 0 else "individual",
            attributes={"region": "North" if i % 2 else "South"},
        )
        Response.objects.create(question=closed, respondent=person, key=f"{name}-c{i}",
                                text="Agree" if i % 3 else "Disagree",
                                options=["Agree" if i % 3 else "Disagree"], outcome="mapped")
        text = TEXTS[i % len(TEXTS)] + f" ({i})"
        responses.append(Response.objects.create(
            question=question, respondent=person, key=f"{name}-a{i}", text=text,
            content_hash=f"h{i}", outcome="mapped",
            stance=["agree", "disagree", "unclear"][i % 3], evidence_rich=i % 4 == 0,
            group=campaign if i % 5 == 1 and i < 25 else None,
        ))
    by_text = {0: ["charges"], 1: ["transport"], 2: ["safety"], 3: ["transport", "safety"],
               4: ["trade"]}
    for i, response in enumerate(responses):
        for key in by_text[i % len(TEXTS)]:
            Assignment.objects.create(response=response, theme=themes[key], confidence=0.8,
                                      ai_original=True, run=run)
    cost.quotes = [{"response_id": responses[0].id, "text": "Parking charges are too high"}]
    cost.save()
    return Built(consultation, question, closed, themes, responses)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Password hashing is deliberately slow; tests need no such protection."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def own(db) -> Built:
    return build_consultation("own")


@pytest.fixture
def other(db) -> Built:
    return build_consultation("other", n=10)


@pytest.fixture
def users(db, own):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    made = {}
    for role in ROLES:
        user = User.objects.create_user(f"{role}@example.org", f"{role}@example.org", PASSWORD)
        Membership.objects.create(user=user, consultation=own.consultation, role=role)
        made[role] = user
    return made


@pytest.fixture
def as_role(client, users):
    """A test client signed in with the given role in the `own` consultation."""

    def sign_in(role: str):
        client.force_login(users[role])
        return client

    return sign_in
