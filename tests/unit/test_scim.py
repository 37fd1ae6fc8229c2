from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.errors import ValidationError
from chalicelib.faces.scheduling.scim import (
    DEFAULT_RUN_SORT,
    DEFAULT_TASK_SORT,
    RUN_SORT_FIELDS,
    TASK_FILTER_FIELDS,
    TASK_SORT_FIELDS,
    Comparison,
    FieldType,
    Operator,
    parse_filter,
)

RELOAD = {
    "name": "Reload Sales",
    "enabled": True,
    "resourceId": "app-1",
    "ownerId": "user-1",
    "spaceId": "",
    "createdAt": "2025-08-31T23:22:27.929Z",
    "updatedAt": datetime(2025, 9, 1, 12, 0, tzinfo=UTC),
    "lastStatus": "SUCCEEDED",
    "triggerType": 1,
}


def matches(text: str, record: dict | None = None) -> bool:
    return parse_filter(text, TASK_FILTER_FIELDS).matches(RELOAD if record is None else record)


def error_of(text: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_filter(text, TASK_FILTER_FIELDS)
    assert info.value.location == "filter"
    return info.value


# -- the documented vocabulary ----------------------------------------------------------------


def test_task_filter_fields_are_the_fourteen_the_page_lists():
    assert list(TASK_FILTER_FIELDS) == [
        "name", "enabled", "resourceId", "ownerId", "spaceId", "createdAt", "updatedAt", "updatedBy",
        "lastStatus", "lastTriggeredBy", "lastStartedAt", "lastEndedAt", "lastExecutedAs", "triggerType",
    ]  # fmt: skip
    assert TASK_FILTER_FIELDS["enabled"] is FieldType.BOOLEAN
    assert TASK_FILTER_FIELDS["lastEndedAt"] is FieldType.DATETIME
    assert TASK_FILTER_FIELDS["triggerType"] is FieldType.NUMBER


def test_sort_vocabularies_and_defaults_follow_the_page():
    assert set(TASK_SORT_FIELDS) == set(TASK_FILTER_FIELDS)
    assert DEFAULT_TASK_SORT == "-updatedAt"
    assert RUN_SORT_FIELDS == ("startedAt", "endedAt", "status", "taskId", "actionId")
    assert DEFAULT_RUN_SORT == "-startedAt"


# -- every operator ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name eq "reload sales"', True),
        ('name eq "reload"', False),
        ('name ne "reload"', True),
        ('name ne "RELOAD SALES"', False),
        ('name co "LOAD s"', True),
        ('name co "purge"', False),
        ('name sw "reLOAD"', True),
        ('name sw "sales"', False),
        ('name ew "SALES"', True),
        ('name ew "reload"', False),
        ('name gt "reload a"', True),
        ('name gt "reload t"', False),
        ('name ge "RELOAD SALES"', True),
        ('name lt "reload t"', True),
        ('name lt "reload a"', False),
        ('name le "reload sales"', True),
        ("name pr", True),
        ("spaceId pr", False),
        ("updatedBy pr", False),
    ],
)
def test_each_string_operator_compares_case_insensitively(text, expected):
    assert matches(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("triggerType eq 1", True),
        ("triggerType ne 1", False),
        ("triggerType gt 0", True),
        ("triggerType ge 1", True),
        ("triggerType lt 1", False),
        ("triggerType le 1.5", True),
        ("triggerType gt -1", True),
    ],
)
def test_number_fields_compare_numerically(text, expected):
    assert matches(text) is expected


def test_boolean_fields_take_true_and_false_in_any_case():
    assert matches("enabled eq true")
    assert matches("enabled eq TRUE")
    assert not matches("enabled eq false")
    assert matches("enabled ne false")
    assert matches("enabled eq false", {**RELOAD, "enabled": False})


def test_null_matches_an_absent_or_empty_field_and_ne_null_a_present_one():
    assert matches("updatedBy eq null")
    assert matches("spaceId eq null")
    assert not matches("name eq null")
    assert matches("name ne null")
    assert matches('updatedBy ne "someone"')
    assert not matches('updatedBy eq "someone"')
    assert not matches('updatedBy co "one"')


# -- datetimes --------------------------------------------------------------------------------


def test_datetimes_compare_as_instants_whatever_the_offset():
    assert matches('createdAt eq "2025-09-01T01:22:27.929+02:00"')
    assert matches('createdAt gt "2025-08-31T23:00:00Z"')
    assert not matches('createdAt gt "2025-09-01T00:00:00Z"')
    assert matches('createdAt lt "2025-09-01T00:00:00+00:00"')
    assert matches('updatedAt ge "2025-09-01T14:00:00+02:00"')
    assert not matches('updatedAt lt "2025-09-01T12:00:00Z"')


def test_datetime_values_in_records_may_be_text_or_aware_datetimes():
    record = {"lastStartedAt": datetime(2025, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=-5)))}
    assert matches('lastStartedAt eq "2025-01-01T15:00:00Z"', record)
    assert not matches('lastStartedAt eq "2025-01-01T15:00:00Z"', {"lastStartedAt": "not a date"})


def test_a_datetime_filter_value_without_a_zone_is_refused():
    error = error_of('createdAt gt "2025-01-01T00:00:00"')
    assert "'Z' or an offset" in error.message
    assert "character 14" in error.message


def test_a_datetime_field_does_not_take_substring_operators():
    assert "does not apply to datetime field 'createdAt'" in error_of('createdAt co "2025"').message


# -- logic and precedence ---------------------------------------------------------------------


def test_and_binds_tighter_than_or():
    # false and false or true  ==  (false and false) or true
    assert matches('name eq "x" and enabled eq false or triggerType eq 1')
    # true or false and false  ==  true or (false and false)
    assert matches('triggerType eq 1 or name eq "x" and enabled eq false')
    # parentheses override: (true or false) and false
    assert not matches('(triggerType eq 1 or name eq "x") and enabled eq false')


def test_not_negates_its_parenthesised_expression():
    assert not matches('not (name sw "reload")')
    assert matches('not (name sw "reload") or enabled eq true')
    assert matches('not (not (name sw "reload"))')


def test_not_binds_tighter_than_and():
    assert not matches("not (triggerType eq 1) and enabled eq true")


def test_keywords_operators_and_field_names_are_case_insensitive():
    parsed = parse_filter('NAME Eq "Reload Sales" AND Not (ENABLED EQ False)', TASK_FILTER_FIELDS)
    assert parsed.matches(RELOAD)
    assert parsed.root.left == Comparison("name", FieldType.STRING, Operator.EQ, "Reload Sales")


def test_field_names_map_to_their_canonical_spelling():
    assert parse_filter("RESOURCEID pr", TASK_FILTER_FIELDS).root.field == "resourceId"


def test_strings_take_json_escapes():
    assert matches('name eq "say \\"hi\\""', {"name": 'Say "Hi"'})
    assert matches('name eq "caf\\u00e9"', {"name": "CAFÉ"})


def test_the_filter_keeps_its_text():
    assert parse_filter("name pr", TASK_FILTER_FIELDS).text == "name pr"


# -- errors -----------------------------------------------------------------------------------


def test_not_without_parentheses_is_refused_saying_where():
    error = error_of('not name eq "a"')
    assert "expected '(' after 'not'" in error.message
    assert "character 5" in error.message


def test_an_unknown_field_is_refused_by_name():
    error = error_of('name eq "a" and color eq "red"')
    assert "unknown field 'color'" in error.message
    assert error.problems[0].value == "color"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected a field name or '(' at character 1, found the end of the filter"),
        ("name", "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) at character 5"),
        ("name is 1", "expected an operator"),
        ('name eq "a', "expected a complete JSON string"),
        ("name eq 'a'", "double quotes"),
        ("name eq a", "expected a double-quoted string or null for string field 'name' at character 9"),
        ('(name eq "a"', "expected ')' at character 13"),
        ('name eq "a")', "expected 'and', 'or' or the end of the filter at character 12"),
        ('name eq "a" enabled eq true', "at character 13, found 'enabled'"),
        ('name eq "a" and', "expected a field name or '(' at character 16"),
        ('emails[type eq "work"]', "value paths"),
        ("enabled eq 1", "true, false or null for boolean field 'enabled'"),
        ("enabled gt true", "operator 'gt' at character 9 does not apply to boolean field 'enabled'"),
        ('triggerType eq "1"', "a number or null for number field 'triggerType'"),
        ("name gt null", "null only goes with eq and ne"),
        ('name eq "a" # x', "at character 13"),
    ],
)
def test_a_malformed_filter_is_refused_saying_where_and_what_was_expected(text, fragment):
    assert fragment in error_of(text).message


def test_a_filter_that_is_not_text_is_refused():
    with pytest.raises(ValidationError) as info:
        parse_filter(None, TASK_FILTER_FIELDS)  # type: ignore[arg-type]
    assert info.value.location == "filter"


def test_a_custom_field_table_restricts_the_fields():
    fields = {"status": FieldType.STRING}
    assert parse_filter('STATUS eq "failed"', fields).matches({"status": "FAILED"})
    with pytest.raises(ValidationError):
        parse_filter('name eq "x"', fields)
