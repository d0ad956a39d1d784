"""Issue #10 B at run time: conditional outcome items, outcomes for every rating, shares
without ``rest``, reported lets — in the result, the trace, the trace document and the
explanation; and nothing of it in the generated code of a policy that does not use it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import kaohe_rules
from kaohe_rules.audit.trace_json import check_trace, trace_document

ROOT = Path(__file__).resolve().parents[2]
POLICY = kaohe_rules.load(ROOT / "tests" / "data" / "interpreter" / "consequences.kh")
TWO_BAD = [{"等次": "差"}, {"等次": "差"}]


def unit(category: str, **facts: object) -> kaohe_rules.Result:
    return POLICY.evaluate({"id": "u", "category": category, "facts": {"限额": {"次数": 5}, **facts}})


def test_items_that_do_not_apply_are_absent_and_read_as_zero() -> None:
    county = unit("县区", 奖励基数="10000")  # 优秀, 无事故 by default
    assert [(i.name, i.amount) for i in county.consequences.items] == [
        ("奖金", Decimal("10000.00")), ("追加", Decimal("3000.00")), ("签订人", Decimal("2000.00")),
        ("班子", Decimal("300.00"))]
    assert county.consequences.total == Decimal("13000.00")
    dept = unit("部门", 奖励基数="10000", 无事故=False)
    assert [(i.name, i.amount) for i in dept.consequences.items] == [
        ("奖金", Decimal("6000.00")), ("签订人", Decimal("1200.00"))]  # 追加 and 班子 (追加 > 0) left out
    assert dept.consequences.total == Decimal("6000.00")


def test_shares_without_rest_leave_no_phantom_line() -> None:
    good = unit("县区", 扣分=15, 奖励基数="10000", 无事故=False, 季度考核=[{"等次": "差"}])  # 良好
    assert good.rating == "良好"
    assert [i.name for i in good.consequences.items] == ["奖金"]  # neither share applies: no 0.00 line


def test_outcomes_for_every_rating_come_after_the_ratings_own() -> None:
    r = unit("部门", 扣分=50, 奖励基数="10000", 季度考核=TWO_BAD)
    assert r.rating == "不合格"
    assert [i.name for i in r.consequences.items] == ["罚款", "签订人", "其余"]  # 检查 is for 县区 only
    assert [[(i.name, i.amount) for i in c.items] for c in r.general_consequences] == [
        [("警示约谈", None)], [("扣减", Decimal("1000.00"))]]
    assert r.general_consequences[0].citation == "十二"
    doc = r.to_dict()
    general = doc["general_consequences"]
    assert isinstance(general, list) and [c["kind"] for c in general] == ["none", "fine"]
    assert doc["reported"] == {
        "不满意次数": {"name": "不满意次数", "label": "不满意次数", "citation": None, "value": 2},
        "一季度满意": {"name": "一季度满意", "label": "有满意季度", "citation": None, "value": False}}


def test_the_trace_says_why_an_item_does_not_apply() -> None:
    r = unit("部门", 扣分=50, 奖励基数="10000", 季度考核=TWO_BAD)
    own, *general = [e for e in r.trace.events if e.kind == "consequence"]
    check = next(c for c in own.children if c.id == "检查")
    assert check.value is None and check.detail == {"applies": False, "because": "for", "categories": ["县区"]}
    assert [e.id for e in general] == ["*", "*"] and all(e.detail["for_every_rating"] for e in general)
    notice = next(c for c in general[0].children if c.id == "通报批评")
    assert notice.detail == {"applies": False, "because": "when"} and notice.reads == {"通报": False}
    let = next(e for e in r.trace.events if e.kind == "let" and e.id == "不满意次数")
    assert let.detail == {"report": True} and let.value == 2


def test_the_trace_document_carries_them_and_validates() -> None:
    r = unit("部门", 扣分=50, 奖励基数="10000", 季度考核=TWO_BAD)
    document = check_trace(trace_document(r))
    result = document["result"]
    assert result["reported"]["不满意次数"] == {"label": "不满意次数", "citation": None, "value": "2"}
    assert [c["total"] for c in result["general_consequences"]] == ["0.00", "1000.00"]


def test_the_explanation_shows_reported_values_and_further_consequences() -> None:
    r = unit("部门", 扣分=50, 奖励基数="10000", 季度考核=TWO_BAD)
    zh, en = r.explain(), r.explain(lang="en")
    assert "报告数值：\n  不满意次数：2\n  有满意季度：否" in zh
    assert "其他奖惩（不论等次）：\n  处理：季度连续两次不满意的，警示约谈 〔十二(一)〕\n  扣减奖金：1,000.00 元" in zh
    assert "Reported values:\n  不满意次数: 2" in en and "Further consequences (whatever the rating):" in en
    assert "检查" not in zh  # for 县区 only


def test_nothing_is_generated_for_a_policy_that_does_not_use_them() -> None:
    karamay = kaohe_rules.load(ROOT / "policies" / "karamay-2013.kh")
    source = karamay.generated_source
    assert "OUT = (OUT, (" not in source and "'not applicable'" not in source
    assert "OUT = (OUT, (G0, G1, ))" in POLICY.generated_source and "'not applicable'" in POLICY.generated_source
    assert not karamay.checked.general_outcomes and not karamay.checked.reported


def test_record_valued_facts_and_optional_ones() -> None:
    r = unit("部门", 扣分=50, 季度考核=TWO_BAD, 限额={"次数": 1}, 可选限额={"次数": 0, "金额": "500"})
    names = {i.name: i.amount for c in r.general_consequences for i in c.items}
    assert names == {"警示约谈": None, "超限": None, "限额扣减": Decimal("500.00"), "扣减": Decimal("0.00")}
    assert r.facts["限额"] == {"次数": 1, "金额": Decimal("0"), "从严": False}  # its derived field computed
    assert unit("部门").facts["可选限额"] is None
    try:
        unit("部门", 限额={"次数": -1, "多余": 1})
    except kaohe_rules.FactError as exc:
        assert sorted(p.fact for p in exc.problems) == ["限额.多余", "限额.次数"]
    else:  # pragma: no cover
        raise AssertionError("a bad record fact was accepted")


def test_a_reported_let_that_reads_the_score_is_reported() -> None:
    """毕节2011's 本季度不满意 = score < 80 is a post-scoring let; it was silently left out of ``reported``."""
    bijie = kaohe_rules.load(ROOT / "policies" / "bijie-2011.kh")
    low = bijie.evaluate({"id": "q", "category": "镇乡", "facts": {"季度扣分": "20.1"}})
    high = bijie.evaluate({"id": "q", "category": "镇乡", "facts": {"季度扣分": "20"}})
    assert low.reported["本季度不满意"].value is True
    assert high.reported["本季度不满意"].value is False
    assert "报告数值：\n  本季度考核被确定为“不满意”：是" in low.explain()
