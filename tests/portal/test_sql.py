"""portal.sql: the column lists and the paginated raw rows."""

import pytest
from django.core.paginator import Paginator
from django.db import connection

from accounts.models import User
from portal.sql import RawRows, columns
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def users(*, count_cap=None) -> RawRows[User]:
    table = connection.ops.quote_name(User._meta.db_table)
    return RawRows(
        User,
        select=columns(User),
        source=table,
        where="full_name LIKE %s",
        params=["Kari%"],
        order_by="id",
        count_cap=count_cap,
    )


def test_columns_name_every_field_or_the_ones_asked_for_in_their_order():
    every = columns(User, "u")

    assert every.split(", ")[0] == '"u"."id"'
    assert len(every.split(", ")) == len(User._meta.concrete_fields)
    assert columns(User, None, ("email", "id")) == '"email", "id"'


def test_raw_rows_page_like_a_queryset(django_assert_num_queries):
    karis = [UserFactory(full_name=f"Kari {index}") for index in range(5)]
    UserFactory(full_name="Ola")

    with django_assert_num_queries(2):  # the count and the page
        page = Paginator(users(), 2).get_page(3)
        rows = list(page.object_list)

    assert page.paginator.count == 5
    assert [user.pk for user in rows] == [karis[4].pk]


def test_a_capped_count_stops_at_the_cap():
    for index in range(4):
        UserFactory(full_name=f"Kari {index}")

    assert users(count_cap=3).count() == 3
    assert users().count() == 4


def test_an_empty_window_asks_nothing_and_a_window_without_an_end_is_refused(django_assert_num_queries):
    rows = users()

    with django_assert_num_queries(0):
        assert rows[0:0] == []
    with pytest.raises(TypeError):
        rows[0]
    with pytest.raises(TypeError):
        rows[2:]
