from policyd.checks.load import load_path


def test_reference_policy_examples_pass():
    from policyd.explain.examples import run_examples

    loaded = load_path("policies/inbound.policy")
    assert loaded.errors == []
    results = run_examples(loaded.compiled)
    assert [r.ok for r in results] == [True, True, True]
