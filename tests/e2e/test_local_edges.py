"""`tasklane local` answers its edges as the deployed gateway does, over real HTTP."""

from __future__ import annotations

import pytest

from tests.e2e.edges import (
    assert_head_answers_carry_no_body,
    assert_missing_token_is_the_deployed_401,
    assert_percent_encoded_path_parameters_arrive_decoded,
    assert_request_bodies_are_read_as_the_gateway_reads_them,
    assert_unknown_methods_are_405_in_the_face_shape,
    assert_unknown_paths_are_404_json,
)

pytestmark = pytest.mark.e2e


def test_a_path_no_face_serves_is_a_404_naming_it_and_pointing_at_the_openapi_document(runtime):
    assert_unknown_paths_are_404_json(runtime.url, runtime.token)


def test_a_known_path_without_an_authorization_header_is_the_deployed_401(runtime):
    assert_missing_token_is_the_deployed_401(runtime.url)


def test_a_method_the_server_does_not_know_is_a_405_in_the_error_shape_of_the_face(runtime):
    assert_unknown_methods_are_405_in_the_face_shape(runtime.url)


def test_a_head_answer_carries_no_body_so_the_connection_goes_on(runtime):
    assert_head_answers_carry_no_body(runtime.url)


def test_percent_encoded_path_parameters_arrive_decoded_as_the_gateway_hands_them(runtime):
    assert_percent_encoded_path_parameters_arrive_decoded(runtime.url, runtime.token)


def test_request_bodies_are_read_as_the_gateway_reads_them(runtime):
    assert_request_bodies_are_read_as_the_gateway_reads_them(runtime.url, runtime.token)
