"""Generated policies that use every construct of issue #10, always accepted by the checker.

The robustness fuzzer's policy generator (:func:`.fuzz.generate_policy`) is meant to
be *mostly* well formed: it feeds the loader texts it may refuse.  The differential
test and the laws need the opposite — policies the checker accepts every time, so
that every generated policy is compiled and interpreted and no draw is wasted — and
they need the constructs where compiler and interpreter are most likely to part:
bonus sections with ``add`` rules and item/section/category caps (an open top band
when the bonus is unbounded), ``score``/``score(X)`` in vetoes, post-scoring lets,
band ``requires`` and outcome amounts, every rating effect (``then rating``,
``downgrade``, ``cap``, ``score``), outcome items with ``when``/``for``, an outcome
for every rating, ``let … report``, named items with ``index``, ``sum``/``count … by``,
``increasing``/``decreasing`` and record-valued facts (plain and optional).

Every amount the generator writes is non-negative by construction and nothing
divides by a value a unit supplies, so a generated policy evaluates every valid unit
(the ``evaluates`` law); a refusal by the checker is a generator bug.

:data:`CONSTRUCTS` names each construct with a pattern that finds it in a policy
text, so a test can count what a sample of generated policies really contains
(:func:`constructs_in`) instead of trusting the generator's own bookkeeping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import attrs

from .choosers import Chooser, RandomChooser

#: construct name → a pattern that finds it in a policy's text (counted over a generated sample).
CONSTRUCTS: dict[str, str] = {
    "bonus section": r"section \S+ \"[^\"]*\" bonus",
    "bonus section cap": r"section \S+ \"[^\"]*\" bonus cap \d",
    "category bonus cap": r"total \d+ bonus cap \d",
    "item cap": r"in \S+\.奖节\d+ cap \d",
    "add when": r"\badd [\d.]+ when ",
    "add unless": r"\badd [\d.]+ unless ",
    "add per": r"\badd [\d.]+ per ",
    "add amount": r"\badd (?![\d.]+ (?:when|unless|per) )",
    "add cap": r"\badd [^}]*? cap \d",
    "open top band": r"bands \S+ \{ \S+ >= \d",
    "open top band (>)": r"bands \S+ \{ \S+ > \d",
    "subsection": r"section 节1 \"节1\" \d+ \{",
    "closed top band": r"bands \S+ \{ \S+ \[",
    "score in veto": r"veto [^\n]*\bscore\b(?!\()",
    "score(X) in veto": r"veto [^\n]*\bscore\(",
    "post-scoring let": r"let \S+ = [^\n]*\bscore\b",
    "score in outcome": r"outcome [^\n]*(?:= 奖励 \* \(score|when score)",
    "then rating": r"then rating ",
    "then downgrade": r"then downgrade ",
    "then cap": r"then cap ",
    "then score": r"then score ",
    "band requires": r"\) requires |\] requires ",
    "outcome item when": r"(?:reward|fine|share|sanction) \S+ \"[^\"]*\" (?:= [^\n]*? )?when ",
    "outcome item for": r"(?:reward|fine|share|sanction) \S+ \"[^\"]*\" [^\n]*\bfor \S",
    "outcome for every rating": r"outcome \{",
    "reported let": r"\breport\n",
    "named item": r" as [a-z]\b",
    "index()": r"index\(",
    "sum by": r"sum\([^\n]* by ",
    "count by": r"count\([^\n]* by ",
    "increasing": r"increasing\(",
    "decreasing": r"decreasing\(",
    "record fact": r"fact 限额: 限 ",
    "optional record fact": r"fact 可选限: 限\? ",
    "veto unless": r"veto [^\n]* unless ",
    "veto on list": r"veto \S+ \"[^\"]*\"(?: for \S+)? on ",
    "share rest": r"= rest",
    "defer with a named item": r"defer [^\n]* as x where [^\n]*index\(x\)",
    "weight (number * percent)": r"\* 25%",
    "several outcomes for every rating": r"outcome \{[^\n]*\n(?:.*\n)*outcome cite",
}


def constructs_in(text: str) -> set[str]:
    """The constructs of :data:`CONSTRUCTS` that ``text`` contains."""
    return {name for name, pattern in CONSTRUCTS.items() if re.search(pattern, text)}


@attrs.frozen
class Category:
    name: str
    total: int
    base: tuple[tuple[str, int], ...]  # (top base section, points)
    leaves: tuple[tuple[str, int], ...]  # (path of a leaf base section, points): where base targets sit
    bonus: tuple[tuple[str, int | None], ...]  # (bonus section, cap)
    targets: tuple[str, ...]  # every target placed in the category (base and bonus)
    maximum: int | None  # the checker's maximum score (None: unbounded)


@attrs.frozen
class GeneratedPolicy:
    text: str
    categories: tuple[Category, ...]


RATINGS = ("优", "良", "中", "可", "差")


def generate_rich_policy(ch: Chooser, *, risky: bool = False) -> GeneratedPolicy:
    """A random policy using the constructs of issue #10, meant to be accepted by the checker every time.

    ``risky`` lets ``加分值`` go negative, so an ``add``/``deduct`` of it is an evaluation error on some
    units: the differential test wants the same error on every path; the laws want none (``evaluates``).
    """
    out: list[str] = ['policy 生成 "generated (issue #10 constructs)" { period 2013-01-01 .. 2013-12-31 }']
    out.append('enum 级 "级" ordered { 低 "低", 中 "中", 高 "高" }')
    out.append('record 项 "项" { 数: int in 0..5 "数"  类: 级 = 低 "类"  键: text "键"  额: money >= 0 = 0元 "额"'
               '  日: date "日" }')
    out.append('record 限 "限" { 次: int in 0..5 "次"  金: money >= 0 = 0元 "金"  let 严: bool = 次 == 0 }')
    out.append('fact 项目: list of 项 = [] "项目"')
    out.append('fact 序列: list of int = [] "序列"')
    out.append('fact 计数: int in 0..10 = 0 "计数"')
    out.append('fact 达标: bool = false "达标"')
    out.append('fact 瞒报: bool = false "瞒报"')
    out.append('fact 比率: percent in 0%..100% = 100% "比率"')
    out.append(f'fact 加分值: decimal in {"-2" if risky else "0"}..5 = 0 "加分值"')
    out.append(f'fact 奖励: money >= 0 = {ch.choice(["0元", "0"])} "奖励"')  # a bare 0 is zero of any unit
    record_fact = ch.chance(70)
    optional_record = ch.chance(60)
    if record_fact:
        out.append('fact 限额: 限 "限额"')
    if optional_record:
        out.append('fact 可选限: 限? "可选限"')
    out.append(f'param 降等 = {ch.integer(1, 2)} "降等"')
    out.append(f'param 门槛 = {ch.integer(0, 4)} "门槛"')

    # ------------------------------------------------------------ pre-scoring lets (every one read or reported)
    lets: list[tuple[str, str, str]] = []  # (name, kind: num/bool, expression)
    listed = "项目"
    if ch.chance(50):  # a deferral naming its item (index() of it); the lets then read what stays
        listed = "本地项目"
        out.append('defer 移交 "移交" from 项目 as x where x.类 == 高 and index(x) > 1 as 本地项目 to "上级"')
    lets.append(("合计", "num", f"sum({listed} of 数)"))
    lets.append(("加权", "num", f"计数 * 25% + sum({listed} of 数) * 75%"))  # a weight: a number times a percent
    lets.append(("分组", "num", ch.choice(["sum(项目 of 数 by 键)", "sum(项目 as a of a.数 by a.类)",
                                            "sum(项目 of 数 where 数 > 0 by 类)"])))
    lets.append(("组数", "num", ch.choice(["count(项目 where 数 > 0 by 类)", "count(项目 as a by a.键)",
                                            "count(项目 by 日)"])))
    lets.append(("升", "bool", ch.choice(["increasing(序列)", "increasing(项目 as a of a.数 where a.数 > 0)",
                                           "increasing(项目 of 日)"])))
    lets.append(("降", "bool", ch.choice(["decreasing(序列)", "decreasing(项目 as a of a.额)",
                                           "decreasing(项目 of 数 where 类 >= 中)"])))
    lets.append(("后续", "num", ch.choice([
        "count(项目 as a where any(项目 as b where index(b) > index(a) and b.数 > a.数))",
        "sum(项目 as a of a.数 where index(a) <= 2)",
        "count(项目 as a where count(项目 as b where b.类 >= 中 and index(b) <= index(a)) >= 2)"])))
    lets = [(n, k, e.replace("项目", listed) if n in ("后续", "组数") else e) for n, k, e in lets]
    if record_fact:
        lets.append(("限次", "num", "限额.次"))
    if optional_record:
        lets.append(("可选次", "num", "if 可选限 is set then 可选限.次 else 0"))
    for name, _, expr in lets:
        report = " report" if ch.chance(30) else ""
        out.append(f'let {name} = {expr} "{name}"{report}')
    nums = [n for n, k, _ in lets if k == "num"] + ["计数", "加分值"]
    bools = [n for n, k, _ in lets if k == "bool"] + ["达标", "瞒报"]
    used: set[str] = set()

    def num() -> str:
        name = str(ch.choice(nums))
        used.add(name)
        return name

    def cond() -> str:
        kind = ch.integer(0, 4)
        if kind == 0:
            name = str(ch.choice(bools))
            used.add(name)
            c = name if ch.chance(60) else f"not {name}"
        elif kind == 1:
            c = f"{num()} {ch.choice(['>=', '>', '<', '<=', '=='])} {ch.integer(0, 4)}"
        elif kind == 2:
            c = f"{num()} >= 门槛"
        elif kind == 3 and record_fact:
            used.add("限额")
            c = ch.choice(["限额.严", "限额.次 > 2", "限额.金 >= 100元"])
        elif kind == 3 and optional_record:
            c = "可选限 is set and 可选限.次 >= 1"
        else:
            c = f"比率 < {ch.integer(1, 99)}%"
        if ch.chance(15):
            c = f"{c} {ch.choice(['and', 'or'])} {cond()}"
        return c

    # ------------------------------------------------------------ categories, sections, targets
    categories: list[Category] = []
    names = ["甲", "乙"][: ch.integer(1, 2)]
    target_lines: list[str] = []
    shared = ch.chance(60)  # one target placed in every category's first section (score(共) readable everywhere)
    shared_places: list[str] = []
    target_no = 0
    for cat in names:
        total = ch.choice([10, 20, 100])
        n_base = ch.integer(1, 2)
        cut = ch.integer(total // 4, total - total // 4)
        base = (("节1", total),) if n_base == 1 else (("节1", cut), ("节2", total - cut))
        nested = n_base == 1 and ch.chance(40)  # 节1 split into two subsections: targets sit in the leaves
        leaves = (("节1.子1", cut), ("节1.子2", total - cut)) if nested else base
        bonus: list[tuple[str, int | None]] = []
        for b in range(ch.integer(0, 2)):
            bonus.append((f"奖节{b + 1}", ch.choice([None, ch.integer(1, 5)])))
        category_cap = ch.integer(1, 8) if bonus and ch.chance(40) else None
        header = f"total {total}" + (f" bonus cap {category_cap}" if category_cap is not None else "")
        parts = [f'section {s} "{s}" {p}' for s, p in base]
        if nested:
            parts = [f'section 节1 "节1" {total} {{ section 子1 "子1" {cut}  section 子2 "子2" {total - cut} }}']
        parts += [f'section {s} "{s}" bonus' + (f" cap {c}" if c is not None else "") for s, c in bonus]
        out.append(f'category {cat} "{cat}类" {header} {{ ' + "  ".join(parts) + " }")
        placed: list[str] = []
        for section, points in leaves:
            first = section == leaves[0][0]
            pieces = _split(ch, points, 3)
            while shared and first and len(pieces) < 2:  # the shared target needs a piece of the first leaf
                pieces = _split(ch, points, 3)
            if shared and first and len(pieces) > 1:
                shared_places.append(f"{cat}.{section} points {pieces.pop()}")
                placed.append("共")
            for p in pieces:
                target_no += 1
                name = f"目{target_no}"
                target_lines.append(f'target {name} "{name}" in {cat}.{section} points {p} {{ {_deductions(ch, p, num, cond)} }}')
                placed.append(name)
        bonus_total: int | None = 0
        for section, cap in bonus:
            section_max: int | None = 0
            for _ in range(ch.integer(1, 2)):
                target_no += 1
                name = f"目{target_no}"
                item_cap = ch.integer(1, 4) if ch.chance(40) else None
                body, most = _adds(ch, num, cond)
                target_lines.append(f'target {name} "{name}" in {cat}.{section}'
                                    + (f" cap {item_cap}" if item_cap is not None else "") + f" {{ {body} }}")
                placed.append(name)
                most = _least(most, item_cap)
                section_max = None if section_max is None or most is None else section_max + most
            section_max = _least(section_max, cap)
            bonus_total = None if bonus_total is None or section_max is None else bonus_total + section_max
        bonus_total = _least(bonus_total, category_cap)
        maximum = None if bonus_total is None else total + bonus_total
        categories.append(Category(cat, total, base, leaves, tuple(bonus), tuple(placed), maximum))
    if shared_places:
        target_lines.append('target 共 "共" in ' + ", ".join(shared_places) + f" {{ {_deductions(ch, 1, num, cond, simple=True)} }}")
    else:
        shared = False
    out.extend(target_lines)

    # ------------------------------------------------------------ ratings, bands (with requires)
    ratings = list(RATINGS[: ch.integer(3, 5)])
    out.append("ratings { " + " ".join(f'{r} "{r}等"' for r in ratings) + f" }} vetoed {ratings[-1]}")

    def score_ref(category: Category) -> str:
        """A score(X) every unit of ``category`` has: a target or a section of it."""
        options = [f"score({s})" for s, _ in category.base] + [f"score({t})" for t in category.targets]
        options += [f"score({path})" for path, _ in category.leaves if "." in path]
        options += [f"score({path.split('.')[-1]})" for path, _ in category.leaves if "." in path]
        options += [f"score({s})" for s, _ in category.bonus]
        return str(ch.choice(options))

    def post_cond(category: Category | None) -> str:
        """A condition of the post-scoring stage (it may read the scores)."""
        kind = ch.integer(0, 3)
        if kind == 0:
            top = category.total if category else 20
            return f"score < {ch.integer(1, top)}"
        if kind == 1 and category is not None:
            return f"{score_ref(category)} {ch.choice(['<', '>=', '<='])} {ch.integer(0, 5)}"
        if kind == 1 and shared:
            return f"score(共) < {ch.integer(0, 2)}"
        if kind == 2 and post_lets:
            name = str(ch.choice(post_lets))
            used.add(name)
            return f"{name} < {ch.choice(['0.5', '0.8', '1'])}"
        return cond()

    post_lets: list[str] = []
    if ch.chance(80):
        post_lets.append("得分率")
        out.append('let 得分率 = score / 100 "得分率"' + (" report" if ch.chance(40) else ""))
    if shared and ch.chance(50):
        post_lets.append("共分")
        out.append('let 共分 = score(共) + score(节1) - score(节1) "共分"' + (" report" if ch.chance(50) else ""))

    for category in categories:
        top = category.total
        cuts = sorted(set(ch.integer(1, top - 1) for _ in range(len(ratings) - 1)))
        while len(cuts) < len(ratings) - 1:  # too few distinct cuts: spread them evenly instead
            cuts = [top * (i + 1) // len(ratings) for i in range(len(ratings) - 1)]
        edges = [0, *cuts]
        lines = []
        open_top = category.maximum is None or (bool(category.bonus) and ch.chance(40))
        strict = open_top and ch.chance(30)  # `优 > x`: the next band is closed at x
        for i, rating in enumerate(ratings):
            low = edges[len(edges) - 1 - i]
            if i == 0:
                interval = (f"> {low}" if strict else f">= {low}") if open_top else f"[{low}, {category.maximum}]"
            else:
                interval = f"[{low}, {edges[len(edges) - i]}{']' if strict and i == 1 else ')'}"
            requires = f" requires {post_cond(category)}" if i < len(ratings) - 1 and ch.chance(30) else ""
            lines.append(f"{rating} {interval}{requires}")
        out.append(f"bands {category.name} {{ " + "  ".join(lines) + " }")

    # ------------------------------------------------------------ vetoes with every rating effect
    for v in range(ch.integer(2, 6)):
        scope: Category | None = ch.choice(categories) if ch.chance(50) else None
        restrict = f" for {scope.name}" if scope is not None and len(categories) > 1 else ""
        if scope is None and len(categories) == 1:
            scope = categories[0]
        if ch.chance(25):
            test = ch.choice([f"on {listed} as a where a.数 >= 4 and index(a) > 1",
                              "on 项目 where 类 == 高",
                              "on 项目 as a where count(项目 as b where b.类 == a.类 and index(b) < index(a)) >= 1"])
        else:
            test = f"when {post_cond(scope)}"
        unless = f' unless {cond()} because "例外"' if ch.chance(15) else ""
        effect = ch.integer(0, 5)
        if effect == 0:
            then = ""
        elif effect == 1:
            then = f" then rating {ch.choice(ratings[1:])}"
        elif effect == 2:
            then = f" then downgrade {ch.choice(['1', '2', '降等'])}"
        elif effect == 3:
            then = f" then cap {ch.choice(ratings[:-1])}"
        else:
            value = ch.choice(["0", "score * 0.8", "min(score, 5)", "score - 1"])
            if scope is not None and ch.chance(30):
                value = score_ref(scope)
            then = f" then score {value}"
        out.append(f'veto 否{v} "否{v}"{restrict} {test}{unless}{then}')

    # ------------------------------------------------------------ outcomes
    cat_names = [c.name for c in categories]
    if ch.chance(80):
        for_cat = f" for {ch.choice(cat_names)}" if ch.chance(40) else ""
        items = [f'reward 奖 "奖" = 奖励 * {ch.integer(1, 50)}%{for_cat}']
        if ch.chance(60):
            items.append(f'reward 加 "加" = 奖 * 30% when {cond()}')
        if ch.chance(50):
            items.append('reward 按分 "按分" = 奖励 * (score / 1000)')
        items.append('share 头 "头" = 奖 * 20%' + (f" when {cond()}" if ch.chance(40) else ""))
        if ch.chance(40):
            items.append('share 余 "余" = rest')
        out.append(f"outcome {ratings[0]} {{ " + "  ".join(items) + " }")
    if ch.chance(70):
        items = [f'fine 罚 "罚" = 奖励 * {ch.integer(1, 50)}%']
        if ch.chance(50):
            items.append(f'sanction 检查 "检查" for {ch.choice(cat_names)}')
        if ch.chance(50):
            items.append(f'sanction 通报 "通报" when {cond()}')
        out.append(f"outcome {ratings[-1]} {{ " + "  ".join(items) + " }")
    general = [f'sanction 约谈 "约谈" when {cond()}']
    if ch.chance(50):
        general.append(f'fine 扣减 "扣减" = 奖励 * 10% when {cond()}' + (f" for {ch.choice(cat_names)}" if ch.chance(50) else ""))
    if optional_record and ch.chance(50):
        general.append('sanction 超限 "超限" when 可选限 is set and 计数 > 可选限.次')
    if ch.chance(40):
        general.append(f'sanction 低分 "低分" when score < {ch.integer(1, 10)}')
    out.append("outcome { " + "  ".join(general) + " }")
    if ch.chance(40):  # several outcomes for every rating, applied in the order written
        out.append(f'outcome cite "二" {{ reward 奖励金 "奖励金" = 奖励 * 5% when {cond()}  share 个人 "个人" = 奖励金 * 50% }}')

    # every let read somewhere: the unread ones are reported (an unused let is a warning, K181)
    text = "\n".join(out) + "\n"
    return GeneratedPolicy(_report_unread(text, [n for n, _, _ in lets] + post_lets), tuple(categories))


def _report_unread(text: str, names: Sequence[str]) -> str:
    lines = text.split("\n")
    for name in names:
        pattern = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
        readers = [line for line in lines if pattern.search(line) and not line.startswith(f"let {name} =")]
        if readers:
            continue
        lines = [line + " report" if line.startswith(f"let {name} =") and not line.endswith(" report") else line
                 for line in lines]
    return "\n".join(lines)


def _least(value: int | None, cap: int | None) -> int | None:
    if value is None:
        return cap
    return value if cap is None else min(value, cap)


def _split(ch: Chooser, points: int, most: int) -> list[int]:
    n = ch.integer(1, min(most, points))
    cuts = sorted(set(ch.integer(1, points - 1) for _ in range(n - 1))) if points > 1 else []
    edges = [0, *cuts, points]
    return [edges[i + 1] - edges[i] for i in range(len(edges) - 1)]


def _deductions(ch: Chooser, points: int, num: Callable[[], str], cond: Callable[[], str], *, simple: bool = False) -> str:
    """One to three deduction rules (amounts never negative)."""
    n, c = num, cond
    rules: list[str] = []
    for _ in range(1 if simple else ch.integer(1, 3)):
        kind = ch.integer(0, 5)
        if kind == 0:
            rules.append(f"full when {c()}")
        elif kind == 1:
            rules.append(f"deduct {ch.integer(1, max(1, points))} {ch.choice(['when', 'unless'])} {c()}")
        elif kind == 2:
            rules.append(f"deduct {ch.integer(1, 3)} per {n()}" + (f" cap {ch.integer(1, points)}" if ch.chance(50) else ""))
        elif kind == 3:
            rules.append(f"deduct {n()}" + (f" cap {ch.integer(1, points)}" if ch.chance(50) else ""))
        elif kind == 4:
            rules.append("proportional 比率")
        else:
            rules.append("deduct 1 per 组数 - 门槛")
    if not simple and ch.chance(15):
        rules.append(f"score {points} - {n()}")
    return "  ".join(dict.fromkeys(rules))


def _adds(ch: Chooser, num: Callable[[], str], cond: Callable[[], str]) -> tuple[str, int | None]:
    """One to three add rules, and the most they can add together (None: unbounded)."""
    n, c = num, cond
    rules: list[str] = []
    most: int | None = 0
    for _ in range(ch.integer(1, 3)):
        kind = ch.integer(0, 3)
        amount = ch.integer(1, 3)
        cap = ch.integer(1, 4) if ch.chance(50) else None
        if kind == 0:
            rules.append(f"add {amount} when {c()}")
            bound: int | None = amount
        elif kind == 1:
            rules.append(f"add {amount} unless {c()}")
            bound = amount
        elif kind == 2:
            rules.append(f"add {amount} per {n()}" + (f" cap {cap}" if cap is not None else ""))
            bound = cap
        else:
            rules.append(f"add {n()}" + (f" cap {cap}" if cap is not None else ""))
            bound = cap
        if rules[-1] in rules[:-1]:  # a repeated rule is refused (K160): drop it, and its bound
            rules.pop()
            continue
        most = None if most is None or bound is None else most + bound
    return "  ".join(rules), most


def sample(seed: str, count: int) -> list[GeneratedPolicy]:
    """``count`` generated policies, reproducible from ``seed``."""
    return [generate_rich_policy(RandomChooser(f"{seed}:{i}")) for i in range(count)]
