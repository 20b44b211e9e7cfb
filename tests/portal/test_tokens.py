from portal.tokens import token_digest, token_issue, token_matches


def test_an_issued_token_matches_its_digest_and_the_digest_is_not_the_token():
    token, digest = token_issue()
    assert token_matches(token, digest)
    assert token not in digest and len(digest) == 64
    assert digest == token_digest(token)


def test_two_tokens_differ_and_neither_matches_the_other():
    (a, a_digest), (b, b_digest) = token_issue(), token_issue()
    assert a != b
    assert not token_matches(a, b_digest) and not token_matches(b, a_digest)


def test_an_empty_token_or_digest_never_matches():
    assert not token_matches("", token_digest(""))
    assert not token_matches("anything", "")


def test_a_token_can_follow_an_id_and_a_dot_in_a_header():
    token, _ = token_issue()
    assert "." not in token and len(token) >= 43
