"""The executor's grading accounts: one per grading process, names useradd accepts."""

from adaptive_lr.course.execute import MAX_USER_NAME, account_name


def test_grading_account_names_fit_useradd():
    base = "adaptive-lr-grader-main-hostile"  # 31 characters: base-1 would be 33
    names = [account_name(base, i) for i in range(64)]
    assert names[0] == base and all(len(n) <= MAX_USER_NAME for n in names)
    assert len(set(names)) == 64
    assert account_name("short", 3) == "short-3"
    assert account_name(base + "x", 1) != account_name(base + "y", 1)
