"""Minutes: publishing to members, feed and newsletter; decisions that set up working groups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from fjernlaan.network.model import (
    ActionItem,
    ActionItemStatus,
    AddToFeed,
    Body,
    BodyKind,
    Decision,
    Meeting,
    MeetingSession,
    Membership,
    MembershipStatus,
    Minutes,
    MinutesError,
    NetworkError,
    Notify,
    NotifyTemplate,
    Person,
    PublishInNewsletter,
    WorkingGroupTask,
    add_action_item,
    add_decision,
    apply,
    create_working_group_from_decision,
    edit_minutes,
    numbered_agenda,
    publish_minutes,
    render_minutes_text,
    resign,
    set_action_item_status,
    unrepresented_organisations,
)

PersonFactory = Callable[..., Person]
NOW = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)


def forum_meeting(body: Body) -> Meeting:
    session = MeetingSession(
        "main",
        "Plenum",
        datetime(2025, 3, 12, 13),
        datetime(2025, 3, 12, 16),
        "Det Kgl. Bibliotek",
        "København",
        "Søjlesalen",
    )
    return Meeting(
        id=5,
        body_id=body.id,
        title="Koordinationsforum marts",
        sessions=(session,),
        agenda=numbered_agenda(["Godkendelse af dagsorden", "Ny kørselsordning", "Eventuelt"]),
    )


def members(body: Body, person: PersonFactory, ids: tuple[int, ...]) -> tuple[Membership, ...]:
    memberships: tuple[Membership, ...] = ()
    for n in ids:
        memberships = apply(body, memberships, person(n), date(2025, 1, 2)).memberships
    return memberships


def decision_for_group() -> Decision:
    return Decision(
        number=1,
        text="Forum nedsætter en arbejdsgruppe om kørselsordningen.",
        agenda_item=2,
        working_group_name="Arbejdsgruppen for kørselsordning",
        working_group_mandate="Forslag til ny kørselsordning inden årets udgang.",
        working_group_organisations=("Slots- og Kulturstyrelsen", "Danmarks Biblioteksforening", "KB"),
    )


def written_minutes(body: Body, meeting: Meeting) -> Minutes:
    minutes = Minutes(
        id=11,
        meeting_id=meeting.id,
        body_id=body.id,
        text_md="# Referat\n\nMødet åbnede kl. 13.",
        author="Sekretariatet",
    )
    minutes = add_decision(minutes, decision_for_group())
    return add_action_item(minutes, ActionItem(1, "Indkalde arbejdsgruppen", "KB", date(2025, 4, 1)))


def test_publishing_sends_the_minutes_to_every_active_member_only(forum: Body, person: PersonFactory) -> None:
    memberships = resign(forum, members(forum, person, (1, 2, 3)), 2, date(2025, 2, 1)).memberships
    meeting = forum_meeting(forum)

    publication = publish_minutes(forum, meeting, written_minutes(forum, meeting), memberships, NOW)

    mails = [e for e in publication.effects if isinstance(e, Notify)]
    assert sorted(m.person.id for m in mails) == [1, 3]
    assert {m.template for m in mails} == {NotifyTemplate.MINUTES_PUBLISHED}
    assert publication.minutes.published_at == NOW


def test_publishing_adds_the_minutes_to_the_body_feed(forum: Body, person: PersonFactory) -> None:
    meeting = forum_meeting(forum)

    publication = publish_minutes(
        forum, meeting, written_minutes(forum, meeting), members(forum, person, (1,)), NOW
    )

    assert AddToFeed(forum.id, 11) in publication.effects
    assert not any(isinstance(e, PublishInNewsletter) for e in publication.effects)


def test_network_minutes_also_go_to_the_newsletter(network: Body, person: PersonFactory) -> None:
    meeting = forum_meeting(network)
    minutes = Minutes(
        id=12, meeting_id=meeting.id, body_id=network.id, text_md="Referat fra netværksmødet på Dokk1."
    )

    publication = publish_minutes(network, meeting, minutes, members(network, person, (1,)), NOW)

    assert PublishInNewsletter("For biblioteker", network.id, 12) in publication.effects


def test_empty_minutes_cannot_be_published(forum: Body, person: PersonFactory) -> None:
    meeting = forum_meeting(forum)
    empty = Minutes(id=13, meeting_id=meeting.id, body_id=forum.id, text_md="  \n ")

    with pytest.raises(MinutesError):
        publish_minutes(forum, meeting, empty, members(forum, person, (1,)), NOW)


def test_minutes_cannot_be_published_twice(forum: Body, person: PersonFactory) -> None:
    meeting = forum_meeting(forum)
    memberships = members(forum, person, (1,))
    published = publish_minutes(forum, meeting, written_minutes(forum, meeting), memberships, NOW).minutes

    with pytest.raises(MinutesError):
        publish_minutes(forum, meeting, published, memberships, NOW)


def test_published_minutes_cannot_be_rewritten_but_action_items_can_be_followed_up(
    forum: Body, person: PersonFactory
) -> None:
    meeting = forum_meeting(forum)
    published = publish_minutes(
        forum, meeting, written_minutes(forum, meeting), members(forum, person, (1,)), NOW
    ).minutes

    with pytest.raises(MinutesError):
        edit_minutes(published, "Ny tekst")
    followed = set_action_item_status(published, 1, ActionItemStatus.DONE)
    assert followed.action_items[0].status is ActionItemStatus.DONE


def test_minutes_text_lists_decisions_and_action_items_in_danish(forum: Body) -> None:
    meeting = forum_meeting(forum)

    text = render_minutes_text(written_minutes(forum, meeting))

    assert text.startswith("# Referat\n\nMødet åbnede kl. 13.")
    assert "## Beslutninger\n\n1. Forum nedsætter en arbejdsgruppe om kørselsordningen." in text
    assert "1. Indkalde arbejdsgruppen (KB, frist 2025-04-01) [open]" in text


def test_decision_numbers_are_unique(forum: Body) -> None:
    minutes = written_minutes(forum, forum_meeting(forum))

    with pytest.raises(MinutesError):
        add_decision(minutes, Decision(1, "En anden beslutning"))


def published(forum: Body, person: PersonFactory) -> Minutes:
    meeting = forum_meeting(forum)
    return publish_minutes(
        forum, meeting, written_minutes(forum, meeting), members(forum, person, (1,)), NOW
    ).minutes


def test_working_group_created_from_a_decision_has_its_members_and_tasks(
    forum: Body, person: PersonFactory
) -> None:
    representatives = [
        person(21, "Slots- og Kulturstyrelsen"),
        person(22, "Danmarks Biblioteksforening"),
        person(23, "KB"),
    ]

    creation = create_working_group_from_decision(
        forum,
        published(forum, person),
        1,
        group_id=30,
        representatives=representatives,
        tasks=[
            "Kortlægge nuværende ruter",
            WorkingGroupTask(0, "Forslag til forum", owner_organisation="KB", due=date(2025, 11, 1)),
        ],
        today=date(2025, 3, 21),
    )

    group = creation.body
    assert (group.id, group.kind, group.parent_id) == (30, BodyKind.WORKING_GROUP, forum.id)
    assert group.name == "Arbejdsgruppen for kørselsordning"
    assert group.mandate == "Forslag til ny kørselsordning inden årets udgang."
    assert [(m.person.id, m.person.organisation, m.status) for m in creation.memberships] == [
        (21, "Slots- og Kulturstyrelsen", MembershipStatus.ACTIVE),
        (22, "Danmarks Biblioteksforening", MembershipStatus.ACTIVE),
        (23, "KB", MembershipStatus.ACTIVE),
    ]
    assert all(m.body_id == 30 for m in creation.memberships)
    assert [(t.number, t.text, t.owner_organisation) for t in creation.tasks] == [
        (1, "Kortlægge nuværende ruter", None),
        (2, "Forslag til forum", "KB"),
    ]
    assert all(t.status is ActionItemStatus.OPEN for t in creation.tasks)
    assert {e.template for e in creation.effects if isinstance(e, Notify)} == {
        NotifyTemplate.WORKING_GROUP_APPOINTED
    }
    assert unrepresented_organisations(creation) == ()


def test_working_group_members_must_represent_the_named_organisations(
    forum: Body, person: PersonFactory
) -> None:
    with pytest.raises(NetworkError):
        create_working_group_from_decision(
            forum,
            published(forum, person),
            1,
            group_id=30,
            representatives=[person(24, "Aarhus Kommune")],
            today=date(2025, 3, 21),
        )


def test_organisations_yet_to_appoint_are_reported(forum: Body, person: PersonFactory) -> None:
    creation = create_working_group_from_decision(
        forum,
        published(forum, person),
        1,
        group_id=30,
        representatives=[person(23, "KB")],
        today=date(2025, 3, 21),
    )

    assert unrepresented_organisations(creation) == (
        "Slots- og Kulturstyrelsen",
        "Danmarks Biblioteksforening",
    )


def test_a_decision_without_a_working_group_cannot_create_one(forum: Body, person: PersonFactory) -> None:
    meeting = forum_meeting(forum)
    minutes = add_decision(written_minutes(forum, meeting), Decision(2, "Referatet godkendes."))
    minutes = publish_minutes(forum, meeting, minutes, members(forum, person, (1,)), NOW).minutes

    with pytest.raises(MinutesError):
        create_working_group_from_decision(
            forum, minutes, 2, group_id=31, representatives=[], today=date(2025, 3, 21)
        )


def test_published_minutes_get_no_new_decisions(forum: Body, person: PersonFactory) -> None:
    with pytest.raises(MinutesError):
        add_decision(published(forum, person), Decision(2, "Efterrationalisering."))


def test_unpublished_minutes_cannot_set_up_a_working_group(forum: Body) -> None:
    minutes = written_minutes(forum, forum_meeting(forum))

    with pytest.raises(MinutesError):
        create_working_group_from_decision(
            forum, minutes, 1, group_id=31, representatives=[], today=date(2025, 3, 21)
        )
