"""The relay's publication order (app/delivery/ordering.py), with no server."""

from app.delivery.ordering import PublicationOrder


def test_an_id_counts_as_being_saved_from_the_moment_it_exists():
    ordering = PublicationOrder()
    with ordering.new_ids(2) as (first, second):
        assert first < second
        assert ordering.publishable_below() == first
    bound = ordering.publishable_below()
    assert bound > second, "with nothing being saved, everything made so far is publishable"
    with ordering.new_ids(1) as (later,):
        assert later > bound, "an id made after the bound is never below it"


def test_two_instances_in_one_process_keep_their_own_count():
    one, other = PublicationOrder(), PublicationOrder()
    with one.new_ids(1) as (held,):
        assert one.publishable_below() == held
        assert other.publishable_below() > held, "another instance's save holds nothing back"
