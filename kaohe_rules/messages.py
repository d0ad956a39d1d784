"""The message catalogue: every text kaohe shows a user about data and usage, in Chinese and English.

Clerks in the offices that keep the facts read Chinese; the English texts are the ones
kaohe has always printed and stay byte-identical under ``--lang en`` (tests and goldens
read them).  The catalogue is one place so a translation is reviewed as a whole.

How texts are rendered:

* a **fact problem** (:class:`~kaohe_rules.errors.FactProblem`, or its ``to_dict()`` in an
  error entry) is rendered from its structured fields: the fact, the message, what was
  expected, the hint.  In Chinese the fact is named by its label and clause from the
  policy (``「从业人员培训合格率」(培训合格率)〔第十二条〕``), and the message by the
  catalogue's pattern for it (:data:`FACT_MESSAGES`).  A message no pattern matches is
  shown in English rather than guessed at: a wrong translation of a fact error is worse
  than an untranslated one.
* a **CLI message** is a key of :data:`TEXTS` with ``str.format`` fields.

The language (:func:`resolve_lang`): ``--lang``, else ``$KAOHE_LANG``, else the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``: the first one set) when it names Chinese
(``zh…``) or English (``en…``).  Without any of these — a C/POSIX locale, as in CI and
most servers — messages stay English and reports stay Chinese, as they always were.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import UnitInputError, UsageError

LANGS = ("zh", "en")

#: CLI and batch texts by key: {"en": …, "zh": …}; ``{name}`` fields filled by :func:`text`.
TEXTS: dict[str, dict[str, str]] = {
    "entry_head_unit": {"en": "{location}: unit {unit!r} not assessed:", "zh": "{location}：单位 {unit} 未能考核："},
    "entry_head": {"en": "{location}:", "zh": "{location}："},
    "expected": {"en": " (expected {expected})", "zh": "（应为 {expected}）"},
    "hint": {"en": "; {hint}", "zh": "；{hint}"},
    "prefix": {"en": "kaohe: ", "zh": "kaohe："},
    "no_unit_id": {"en": "no unit {id!r} in {path}", "zh": "{path} 中没有编号为 {id} 的单位"},
    "no_units": {"en": "no units in {path}", "zh": "{path} 中没有单位"},
    "no_category": {"en": "no category {category!r}; the policy has {known}",
                    "zh": "没有类别 {category}；本办法的类别有 {known}"},
    "workers": {"en": "--workers must be at least 1, not {n}", "zh": "--workers 至少为 1，而不是 {n}"},
    "needs_output": {"en": "--format {fmt} writes a binary file: give -o FILE",
                     "zh": "--format {fmt} 生成二进制文件：请用 -o FILE 指定输出文件"},
    "tally": {"en": "{assessed} assessed + {not_assessed} not assessed = {total} rows read",
              "zh": "已考核 {assessed} + 未能考核 {not_assessed} = 共读入 {total} 行"},
    "wrote": {"en": "wrote {path}", "zh": "已写入 {path}"},
    "progress": {"en": "{n:,} units, {rate:,} units/s", "zh": "{n:,} 个单位，{rate:,} 个/秒"},
    "internal": {"en": "internal error ({kind}: {detail}); please report this with the input",
                 "zh": "内部错误（{kind}: {detail}）；请连同输入数据一起报告"},
}

#: Input-file errors (:class:`~kaohe_rules.errors.UnitInputError`, raised by :mod:`kaohe_rules.unitio`
#: through :func:`input_error`).  The English texts are the bilingual ones kaohe has always printed;
#: the Chinese ones drop the English half.  A ``…_zh`` field is the Chinese form of the field before
#: it; ``detail`` is what the system or a library said (an OS error, the JSON parser), shown as it is.
_ALL_FORMATS = ".json, .jsonl, .ndjson, .csv, .tsv, .xlsx or .parquet (or pass format=)"
INPUT_TEXTS: dict[str, dict[str, str]] = {
    "in_unknown_ext": {"en": "{shown}: 无法识别的单位文件格式 / unknown units file format {ext!r}; expected " + _ALL_FORMATS,
                       "zh": "{shown}：无法识别的单位文件格式 {ext!r}；应为 .json、.jsonl、.ndjson、.csv、.tsv 或 .xlsx"
                             "（或指定 format=）"},
    "in_frame_column_name": {"en": "the column name {shown} is not text (a DataFrame of units has one text header per "
                                   "column: id, name, category, the facts)",
                             "zh": "列名 {shown} 不是文字（单位数据表每列一个文字表头：编号、名称、类别和各项事实）"},
    "in_no_ext": {"en": "{shown}: 无法识别的单位文件格式 / unknown units file format '(no extension)'; expected "
                        + _ALL_FORMATS,
                  "zh": "{shown}：无法识别的单位文件格式（文件名没有扩展名）；应为 .json、.jsonl、.ndjson、.csv、.tsv 或 .xlsx"
                        "（或指定 format=）"},
    "in_unknown_format": {"en": "{shown}: 未知格式 / unknown format {format!r}; expected one of json, jsonl, csv, tsv, xlsx",
                          "zh": "{shown}：未知格式 {format!r}；应为 json、jsonl、csv、tsv、xlsx 之一"},
    "in_no_such_file": {"en": "{shown}: 文件不存在 / no such file", "zh": "{shown}：文件不存在"},
    "in_is_directory": {"en": "{shown}: 是目录而不是文件 / is a directory, not a file", "zh": "{shown}：是目录而不是文件"},
    "in_cannot_read": {"en": "{shown}: 无法读取 / cannot read: {detail}", "zh": "{shown}：无法读取：{detail}"},
    "in_read_failed": {"en": "{shown}: 读取失败 / read failed: {detail}", "zh": "{shown}：读取失败：{detail}"},
    "in_parquet_needs_pyarrow": {"en": "{shown}: 读取 Parquet 需要 pyarrow / reading Parquet needs pyarrow: "
                                       "pip install 'kaohe_rules[columnar]'",
                                 "zh": "{shown}：读取 Parquet 文件需要 pyarrow：pip install 'kaohe_rules[columnar]'"},
    "in_not_parquet": {"en": "{shown}: 不是可读的 Parquet 文件 / not a readable Parquet file: {detail}",
                       "zh": "{shown}：不是可读的 Parquet 文件：{detail}"},
    "in_invalid_json": {"en": "{shown}: JSON 无效 / invalid JSON: {detail}", "zh": "{shown}：JSON 无效：{detail}"},
    "in_not_utf8": {"en": "{shown}: 不是 UTF-8 文本 / not UTF-8 text: {detail}", "zh": "{shown}：不是 UTF-8 文本：{detail}"},
    "in_too_large": {"en": "{shown}: 文件过大 / too large: a JSON document may hold at most {cap:,} bytes"
                           " (MAX_DOCUMENT_BYTES); use JSON Lines (.jsonl) for big batches",
                     "zh": "{shown}：文件过大：一个 JSON 文档至多 {cap:,} 字节（MAX_DOCUMENT_BYTES）；"
                           "大批量请用 JSON Lines（.jsonl）"},
    "in_units_twice": {"en": '{shown}: 键 "units" 重复 / key "units" appears twice', "zh": '{shown}：键 "units" 出现了两次'},
    "in_no_units_key": {"en": '{shown}: 顶层对象没有 "units" 键 / top-level object has no "units" key;'
                              ' expected an array of units or {{"units": [...]}}',
                        "zh": '{shown}：顶层对象没有 "units" 键；应为单位的数组或 {{"units": [...]}}'},
    "in_units_not_array": {"en": '{shown}: "units" 必须是数组 / "units" must be an array (got {got})',
                           "zh": '{shown}："units" 必须是数组（而不是{got_zh}）'},
    "in_top_level": {"en": '{shown}: 顶层必须是数组或对象 / top level must be an array of units or'
                           ' {{"units": [...]}} (got {got})',
                     "zh": '{shown}：顶层必须是单位的数组或 {{"units": [...]}}（而不是{got_zh}）'},
    "in_header_cell_long": {"en": "{where}: 表头单元格过长 / header cell {col} holds {chars:,} characters"
                                  " (at most {cap:,}, MAX_TEXT_CHARS)",
                            "zh": "{where}：表头单元格过长：第 {col} 列的表头有 {chars:,} 个字符（至多 {cap:,}，MAX_TEXT_CHARS）"},
    "in_header_twice_role": {"en": "{where}: 表头重复 / duplicate header: columns {first!r} and {second!r} both give the {role}",
                             "zh": "{where}：表头重复：列 {first!r} 和 {second!r} 都是{role_zh}"},
    "in_header_twice_fact": {"en": "{where}: 表头重复 / duplicate header: columns {first!r} and {second!r}"
                                   " both give the fact {fact!r}",
                             "zh": "{where}：表头重复：列 {first!r} 和 {second!r} 都是事实 {fact!r}"},
    "in_header": {"en": "{where}: 表头 / header: {problems}", "zh": "{where}：表头：{problems_zh}"},
    "in_unknown_encoding": {"en": "{shown}: 未知编码 / unknown encoding {encoding!r}", "zh": "{shown}：未知编码 {encoding!r}"},
    "in_csv_encoding": {"en": "{shown}: 无法读取 CSV / cannot read CSV ({encoding}): {detail};"
                              " state the encoding with --encoding",
                        "zh": "{shown}：无法读取 CSV（按 {encoding} 编码）：{detail}；请用 --encoding 指定文件的编码"},
    "in_no_header_file": {"en": "{shown}: 没有表头行 / no header row (empty file)", "zh": "{shown}：没有表头行（空文件）"},
    "in_needs_openpyxl": {"en": "{shown}: 读取 .xlsx 需要 openpyxl / reading .xlsx needs openpyxl:"
                                " pip install kaohe_rules[xlsx]",
                          "zh": "{shown}：读取 .xlsx 需要 openpyxl：pip install kaohe_rules[xlsx]"},
    "in_cannot_read_xlsx": {"en": "{shown}: 无法读取 xlsx / cannot read xlsx: {detail}", "zh": "{shown}：无法读取 xlsx：{detail}"},
    "in_refused_xlsx": {"en": "{shown}: 拒绝读取 xlsx / refused xlsx: {detail}", "zh": "{shown}：拒绝读取 xlsx：{detail}"},
    "in_template_empty": {"en": "{shown}: 没有填写任何单位 / no unit filled in: fill one row per unit on the sheets {titles}",
                          "zh": "{shown}：没有填写任何单位：请在工作表 {titles} 上每个单位填一行"},
    "in_sheets_twice": {"en": "{shown}: 多个单位工作表 / several units sheets ({titles}); keep one",
                        "zh": "{shown}：有多个单位工作表（{titles}）；请只保留一个"},
    "in_no_sheet": {"en": "{shown}: 没有工作表 / workbook has no worksheet", "zh": "{shown}：工作簿没有工作表"},
    "in_cannot_read_row": {"en": "{shown}:{sheet}!row {row}: 无法读取 / cannot read: {detail}",
                           "zh": "{shown}:{sheet}!第 {row} 行：无法读取：{detail}"},
    "in_no_header_sheet": {"en": "{shown}:{sheet}: 没有表头行 / no header row (empty sheet)",
                           "zh": "{shown}:{sheet}：没有表头行（空工作表）"},
}
TEXTS.update(INPUT_TEXTS)

#: Usage errors (:class:`~kaohe_rules.errors.UsageError`, through :func:`usage_error`): the command
#: line, and output files that may not be written (:mod:`kaohe_rules.outfile`).
USAGE_TEXTS: dict[str, dict[str, str]] = {
    "cannot_write": {"en": "cannot write {path}: {detail}", "zh": "无法写入 {path}：{detail}"},
    "cannot_write_dir": {"en": "cannot write {path}: it is a directory", "zh": "无法写入 {path}：这是一个目录"},
    "output_is_input": {"en": "refusing to write {path}: it is {what}{alias} that this command reads;"
                              " choose another output file",
                        "zh": "拒绝写入 {path}：它是本命令读取的{what_zh}{alias_zh}；请另选输出文件"},
    "exists": {"en": "{path} already exists; pass --force to overwrite it", "zh": "{path} 已存在；要覆盖它请加 --force"},
    "no_directory": {"en": "cannot write {path}: no directory {directory}", "zh": "无法写入 {path}：没有目录 {directory}"},
    "swapped": {"en": "{policy} is a units file ({ext}), not a policy, and {units} is a policy: did you swap them?"
                      " the policy comes first: kaohe eval POLICY UNITS",
                "zh": "{policy} 是单位文件（{ext}），不是政策文件，而 {units} 是政策文件：是不是把两者弄反了？"
                      "政策文件在前：kaohe eval 政策文件 单位文件"},
    "units_not_policy": {"en": "{policy} is a units file ({ext}), not a policy; the policy comes first:"
                               " kaohe eval POLICY UNITS",
                         "zh": "{policy} 是单位文件（{ext}），不是政策文件；政策文件在前：kaohe eval 政策文件 单位文件"},
    "jsonl_no_output": {"en": "--format jsonl streams to standard output: redirect it (> FILE) instead of -o",
                        "zh": "--format jsonl 以流的方式写到标准输出：请用重定向（> 文件），不要用 -o"},
    "engine_needs_parquet": {"en": "--engine {engine} chooses how the results table is made: it applies to "
                                   "--format parquet only",
                             "zh": "--engine {engine} 选择结果表的计算方式：只用于 --format parquet"},
    "output_encoding_csv": {"en": "--output-encoding applies to --format csv only",
                            "zh": "--output-encoding 只用于 --format csv"},
    "xlsx_needs_template": {"en": "--format xlsx writes the template: add --template",
                            "zh": "--format xlsx 用于生成模板：请加 --template"},
    "template_needs_output": {"en": "--format xlsx needs -o FILE.xlsx (a workbook is not written to a terminal)",
                              "zh": "--format xlsx 需要 -o 文件.xlsx（工作簿不能写到终端）"},
    "xlsx_needs_openpyxl": {"en": "writing .xlsx needs openpyxl / 生成 .xlsx 需要 openpyxl: pip install 'kaohe_rules[xlsx]'",
                            "zh": "生成 .xlsx 需要 openpyxl：pip install 'kaohe_rules[xlsx]'"},
    "row_error": {"en": "{location}: {error}", "zh": "{location}：{error_zh}"},
    "choose_id": {"en": "{path} holds {n} units ({ids}); choose one with --id",
                  "zh": "{path} 中有 {n} 个单位（{ids}）；请用 --id 选一个"},
    "nothing_to_change": {"en": "nothing to change: give --set FACT=VALUE or --patch FILE",
                          "zh": "没有要改的内容：请给出 --set 事实=值 或 --patch 文件"},
    "cannot_read_trace": {"en": "cannot read trace {path}: {detail}", "zh": "无法读取追踪文件 {path}：{detail}"},
    "needs_hypothesis": {"en": "'kaohe {command}' generates units with hypothesis: pip install 'kaohe_rules[testing]'",
                         "zh": "'kaohe {command}' 要用 hypothesis 生成单位：pip install 'kaohe_rules[testing]'"},
    "no_test_files": {"en": "no test files (*.tests.toml) in {paths}", "zh": "{paths} 中没有测试文件（*.tests.toml）"},
    "examples_min": {"en": "--examples must be at least 1", "zh": "--examples 至少为 1"},
    "examples_negative": {"en": "--examples cannot be negative", "zh": "--examples 不能为负数"},
    "trace_format": {"en": "{path}: {detail}", "zh": "{path}：{detail}"},
    "cannot_read_units": {"en": "cannot read units {path}: {detail}", "zh": "无法读取单位文件 {path}：{detail_zh}"},
    "policy_no_category": {"en": "{path} has no category {unknown}; it has {known}",
                           "zh": "{path} 没有类别 {unknown}；它的类别有 {known}"},
}
TEXTS.update(USAGE_TEXTS)

#: JSON type names (``got`` fields) in Chinese.
JSON_TYPES_ZH: dict[str, str] = {"null": " null", "boolean": "布尔值", "number": "数", "string": "字符串",
                                 "array": "数组", "object": "对象"}

#: English fact messages (as the readers write them) and their Chinese form; the groups
#: of the pattern fill ``{0}``, ``{1}``… of the translation.  Checked in order; anchored.
FACT_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p + r"\Z", re.S), zh) for p, zh in (
    # shared event ledgers (issue #16): first, as they quote other messages
    (r"the ledger event (.+?) charged to this unit is bad: (?P<inner>.+)", "计入本单位的台账事件{0}有误：{1}"),
    (r"the ledger event (.+?) cannot be attributed, a field the attribution rules read is bad \((.+)\); "
     r"it may be this unit's", "台账事件{0}无法归属：归属规则读取的字段有误（{1}），可能属于本单位"),
    (r"the ledger event (.+?) cannot be attributed, an attribution rule could not be evaluated on it \((\w+)\); "
     r"it may be this unit's", "台账事件{0}无法归属：归属规则无法在此事件上求值（{1}），可能属于本单位"),
    (r"unit id (.+) is given twice in one batch with ledgers \(rows (.+)\); the events charged to it cannot be "
     r"told apart", "单位编号 {0} 在有台账的一批中出现多次（第 {1} 行）；计入它的事件无法区分"),
    (r"is given by the unit while the ledger (.+) is supplied: the unit's own list, or the events the ledger "
     r"charges to it — only one source", "本单位自报了清单，同时提供了台账 {0}：本单位自报清单，或台账计入本单位的事件——只能有一个来源"),
    (r"the key (.+) is given (\d+) times \(rows (.+)\); each event once", "键 {0} 出现了 {1} 次（第 {2} 条）；每个事件只能出现一次"),
    (r"the event could not be read \((\w+)\)", "无法读取该事件（{0}）"),
    (r"a derived field could not be computed \((\w+)\)", "派生字段无法计算（{0}）"),
    (r"an attribution rule could not be evaluated on this event \((\w+)\)", "归属规则无法在此事件上求值（{0}）"),
    (r"missing", "缺少（必填）"),
    (r"the unit has no id", "单位没有编号"),
    (r"the id is not valid Unicode text \(a lone surrogate\)", "编号不是有效的 Unicode 文本（含不成对的代理字符）"),
    (r"the id (.+) is not text", "编号 {0} 不是文本"),
    (r"the name (.+) is longer than (\d+) characters or not valid Unicode text",
     "名称 {0} 超过 {1} 个字符，或不是有效的 Unicode 文本"),
    (r"(?P<type>\w+) is not a record", "给的是{0}，不是记录"),
    (r"unknown field of (.+)", "{0} 没有这个字段"),
    (r"a value of type (\w+), which kaohe does not read \(it failed while the unit was read\)",
     "{0} 类型的值，kaohe 不读取（读取这个单位时出错）"),
    (r"a key of type (\w+), which kaohe does not read \(it failed while the unit was read\)",
     "{0} 类型的键，kaohe 不读取（读取这个单位时出错）"),
    (r"(.+) is too large \(numbers must be below 10\^(\d+) in size\)", "{0} 太大（数的大小必须小于 10^{1}）"),
    (r"(.+) has (\d+) decimal places \(at most (\d+)\)", "{0} 有 {1} 位小数（至多 {2} 位）"),
    (r"(.+) is not a finite number", "{0} 不是有限数"),
    (r"(.+) is ambiguous: a decimal comma \((.+)\) or a misplaced thousands separator \((.+)\)",
     "{0} 有两种读法：小数逗号（{1}），或位置不对的千位分隔符（{2}）"),
    (r"(.+) is not a number \(longer than (\d+) characters\)", "{0} 不是数（超过 {1} 个字符）"),
    (r"(.+) is not a number: ',' may only separate groups of three digits", "{0} 不是数：',' 只能分隔每三位数字"),
    (r"(.+) is not valid Unicode text \(it holds a lone surrogate\)", "{0} 不是有效的 Unicode 文本（含不成对的代理字符）"),
    (r"(?P<type>\w+) (.+) is not a number", "{0} 类型的 {1} 不是数"),
    (r"(?P<type>\w+) (.+) is not text", "{0} 类型的 {1} 不是文本"),
    (r"is empty \(none\)", "为空（必填）"),
    (r"unknown fact", "本办法没有这个事实"),
    (r"unknown category (.+)", "未知类别 {0}"),
    (r"fact is only supplied by (.+), not by (.+)", "只有 {0} 填报这个事实，{1} 不填"),
    (r"'facts' must be a mapping of fact names to values", "'facts' 必须是 事实名→值 的映射"),
    (r"fact names are text", "事实名必须是文本"),
    (r"(.+) is ambiguous for a percentage: (.+) or, as a fraction, (.+)",
     "{0} 作为百分比有两种读法：{1}，或按小数读作 {2}"),
    (r"(.+) has no currency unit \(万 of what\?\)", "{0} 没有货币单位（万什么？）"),
    (r"(.+) is not a whole number", "{0} 不是整数"),
    (r"(.+) is not true or false", "{0} 不是 是/否"),
    (r"(.+) has a time of day", "{0} 带有时刻（只应是日期）"),
    (r"(.+) is not a date", "{0} 不是日期"),
    (r"(.+) is longer than (\d+) characters", "{0} 超过 {1} 个字符"),
    (r"(.+) is not a member of (.+)", "{0} 不是 {1} 的选项"),
    (r"(?P<type>\w+) is not a list", "给的是{0}，不是列表"),
    (r"(.+) is out of range", "{0} 超出范围"),
    (r"(.+) is a boolean", "{0} 是布尔值（是/否），不是数"),
    (r"(.+) is a float, which is not exact", "{0} 是浮点数，不精确"),
    (r"(.+) is written with full-width digits", "{0} 用了全角数字"),
    (r"(.+) is written with digits other than 0-9", "{0} 用了 0-9 以外的数字"),
    (r"(.+) is not a number", "{0} 不是数"),
    (r"(.+) is not text", "{0} 不是文本"),
    (r"the id is longer than (\d+) characters", "编号超过 {0} 个字符"),
    (r"a unit must be a mapping, got (?P<type>\w+)", "单位必须是映射（对象），而不是{0}"),
))

#: The rows the readers refuse (:class:`~kaohe_rules.unitio.UnitRow` errors, written "中文 / English"
#: with the English part saying the details) and their Chinese form.  A group named ``json`` is a JSON
#: type (:data:`JSON_TYPES_ZH`), ``role`` a header role, ``inner`` a message translated in turn; a
#: ``detail`` group is what a library said (the JSON parser, the UTF-8 decoder), shown as it is.
READER_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p + r"\Z", re.S), zh) for p, zh in (
    (r"单位编号重复 / duplicate unit id (.+): first given at (.+); only the first is assessed",
     "单位编号重复：{0} 已在 {1} 给出；只考核第一次出现的"),
    (r"不是 JSON 对象 / not a JSON object \(got (?P<json>\w+)\)", "不是 JSON 对象（而是{0}）"),
    (r"JSON 无效 / invalid JSON: (?P<detail>.+)", "JSON 无效：{0}"),
    (r"未知的键 / unknown key\(s\) (.+) \(facts belong inside \"facts\"\)", '未知的键 {0}（事实应写在 "facts" 里）'),
    (r"facts 必须是对象 / facts must be an object \(got (?P<json>\w+)\)", "facts 必须是对象（而不是{0}）"),
    (r"(?P<role>\w+) 必须是文本 / \w+ must be text or an integer, not (.+)", "{0}必须是文本或整数，而不是 {1}"),
    (r"键 (.+) 与 (.+) 重复 / keys .+ and .+ both give the (?P<role>\w+)", "键 {0} 与 {1} 重复：都是{2}"),
    (r"([^:]+): 键重复 / duplicate key\(s\) (.+)", "{0}：键重复：{1}"),
    (r"([^:]+): 键 (.+) 含不成对的代理字符 / key .+ holds a lone surrogate, which is not text",
     "{0}：键 {1} 含不成对的代理字符，不是文本"),
    (r"([^:]+): (.+) 含不成对的代理字符 / .+ holds a lone surrogate, which is not text",
     "{0}：{1} 含不成对的代理字符，不是文本"),
    (r"([^:]+): 数字超出范围 / the number (.+) is out of range", "{0}：数字 {1} 超出范围"),
    (r"([^:]+): 不允许 (.+) / .+ is not an allowed number", "{0}：不允许 {1}"),
    (r"嵌套过深 / nested too deep: lists and records may nest at most (\d+) levels within a unit \(MAX_NESTING\)",
     "嵌套过深：一个单位内列表和记录至多嵌套 {0} 层（MAX_NESTING）"),
    (r"行过长 / line too long: more than ([\d,]+) bytes \(MAX_LINE_BYTES\); skipped",
     "行过长：超过 {0} 字节（MAX_LINE_BYTES）；已跳过"),
    (r"行过长 / row too long: more than ([\d,]+) characters \(MAX_LINE_BYTES\); skipped",
     "行过长：超过 {0} 个字符（MAX_LINE_BYTES）；已跳过"),
    (r"不是 UTF-8 文本 / not UTF-8 text: (?P<detail>.+) at byte (\d+)", "不是 UTF-8 文本：第 {1} 字节处（{0}）"),
    (r"无法读取 CSV / cannot read CSV: (?P<detail>.+)", "无法读取 CSV：{0}"),
    (r"列 (.+) 的 JSON 无效 / column .+: invalid JSON: (?P<detail>.+)", "列 {0} 的 JSON 无效：{1}"),
    (r"第 (.+) 列有值但没有表头 / column .+ has a value but no header", "第 {0} 列有值但没有表头"),
    (r"列 (.+) 的单元格过长 / column .+: the cell holds ([\d,]+) characters \(at most ([\d,]+), MAX_TEXT_CHARS\)",
     "列 {0} 的单元格过长：有 {1} 个字符（至多 {2}，MAX_TEXT_CHARS）"),
    (r"非有限数 / not a finite number: (.+)", "非有限数：{0}"),
    (r"不支持的单元格值 / unsupported cell value (.+)", "不支持的单元格值 {0}"),
    (r"列 ([^/]+?) / column [^:]+: (?P<inner>.+)", "列 {0}：{1}"),
    (r"另有 (\d+) 个问题 / and \d+ more problem\(s\)", "另有 {0} 个问题"),
))

#: Usage and input-file messages (``kaohe: …``, exit status 2) and their Chinese form, as
#: :data:`FACT_MESSAGES`: the English text is what the raising module wrote; unmatched stays English.
USAGE_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p + r"\Z", re.S), zh) for p, zh in (
    (r"(.+) already exists; pass --force to overwrite it", "{0} 已存在；要覆盖它请加 --force"),
    (r"refusing to write (.+?): it is (.+) that this command reads; choose another output file",
     "拒绝写入 {0}：它是本命令读取的输入文件（{1}）；请另选输出文件"),
    (r"cannot write (.+?): it is a directory", "无法写入 {0}：这是一个目录"),
    (r"cannot write (.+?): no directory (.+)", "无法写入 {0}：没有目录 {1}"),
    (r"cannot write (.+?): (.+)", "无法写入 {0}：{1}"),
    (r"no unit (.+) in (.+)", "{1} 中没有编号为 {0} 的单位"),
    (r"no units in (.+)", "{0} 中没有单位"),
    (r"--format jsonl streams to standard output: redirect it \(> FILE\) instead of -o",
     "--format jsonl 以流的方式写到标准输出：请用重定向（> FILE），不要用 -o"),
    (r"--output-encoding applies to --format csv only", "--output-encoding 只用于 --format csv"),
    (r"category (.+) cannot name an Excel sheet \(31 characters, none of \[\]:\*\?/\\\)",
     "类别 {0} 不能用作 Excel 工作表名（至多 31 个字符，不含 []:*?/\\）"),
    (r"nothing to change: give --set FACT=VALUE or --patch FILE",
     "没有要改的内容：请给出 --set 事实=值 或 --patch 文件"),
))


def input_error(key: str, **fields: Any) -> UnitInputError:
    """A :class:`UnitInputError` made from the catalogue text ``key``: its message is the English
    text, and it keeps the key and fields so :func:`error_message` can render it in Chinese."""
    return UnitInputError(text(key, None, **fields), key, fields)


def usage_error(key: str, **fields: Any) -> UsageError:
    """A :class:`UsageError` made from the catalogue text ``key`` (as :func:`input_error`)."""
    return UsageError(text(key, None, **fields), key, fields)


def error_message(exc: BaseException, lang: str | None) -> str:
    """A usage or input-file error in ``lang``: by its catalogue key when it has one (structured),
    else by :data:`USAGE_MESSAGES` over its English text, else as written."""
    key = getattr(exc, "key", None)
    fields = getattr(exc, "fields", None)
    if lang == "zh" and isinstance(key, str) and key in TEXTS and isinstance(fields, dict):
        return text(key, "zh", **fields)
    return usage_message(str(exc), lang)


def usage_message(message: str, lang: str | None) -> str:
    """A usage message in ``lang``: Chinese by :data:`USAGE_MESSAGES` when one matches, else as written."""
    if lang == "zh":
        for pattern, zh in USAGE_MESSAGES:
            match = pattern.match(message)
            if match:
                return zh.format(*match.groups())
    return message


#: Python type names (a ``(?P<type>…)`` group of a pattern) in Chinese; others stay as they are.
TYPE_NAMES_ZH: dict[str, str] = {
    "int": "整数", "float": "浮点数", "Decimal": "数", "str": "文本", "bool": "布尔值", "NoneType": "空值（null）",
    "list": "列表", "tuple": "元组", "dict": "映射", "set": "集合", "bytes": "字节串", "bytearray": "字节串",
    "date": "日期", "datetime": "日期时间", "time": "时刻", "timedelta": "时间间隔", "complex": "复数",
    "object": "对象", "memoryview": "内存视图", "range": "范围", "generator": "生成器", "type": "类型",
    "frozenset": "集合",
}

#: The kinds of facts (``describe`` of a base type) in Chinese, as ``expected`` texts name them.
KINDS_ZH: dict[str, str] = {
    "int": "整数", "decimal": "数", "money": "金额", "percent": "百分比", "bool": "是/否", "date": "日期",
    "text": "文本",
}

_ROLES_ZH = {"id": "编号", "name": "名称", "category": "类别"}
_GROUP_TABLES: dict[str, dict[str, str]] = {}  # filled below, once every table is defined

#: Hints of fact problems and their Chinese form (as :data:`FACT_MESSAGES`).
HINT_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p + r"\Z", re.S), zh) for p, zh in (
    (r"did you mean (.+)\?", "是不是 {0}？"),
    (r"pass it as a string \((.+)\) or a Decimal", "请写成字符串（{0}）或 Decimal"),
    (r"write it with ASCII digits: (.+)", "请用半角数字：{0}"),
    (r"write numbers with the ASCII digits 0-9", "请用半角数字 0-9"),
    (r"write the decimal point as '\.', and ',' only between groups of three digits",
     "小数点请写作 '.'，',' 只用来分隔每三位数字"),
    (r"write it without separators, or as 1,000,000", "请不加分隔符，或写作 1,000,000"),
    (r"write it as (.+) \(10,000 元 each\) or in 元", "请写作 {0}（每万为 10,000 元），或以元为单位"),
    (r"write (.+) for (.+)% or (.+) for the fraction (.+)", "指 {1}% 请写 {0}；指小数 {3} 请写 {2}"),
    (r"remove it from this unit", "请从这个单位中删去它"),
    (r"leave (.+) out of the unit \(the ledger decides\), or assess without the ledger",
     "请从单位中删去 {0}（由台账决定），或不提供台账"),  # issue #16
    (r"(.+) is computed by the policy; do not supply it", "{0} 由本办法计算得出，不要填报"),
))

#: ``expected`` texts made from the policy (a list, a record, an enum, a range) and their Chinese form.
EXPECTED_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p + r"\Z", re.S), zh) for p, zh in (
    (r"a list of (?P<kind>.+)", "{0} 的列表"),
    (r"a (.+) record", "{0} 记录"),
    (r"one of (.+)", "以下之一：{0}"),
    (r"a value in (.+)", "{0} 之间的值"),
    (r"a value (>=|>|<=|<) (.+)", "{0} {1} 的值"),
    (r"a (.+) of its own for every event", "每个事件各自的{0}"),  # issue #16: a ledger's key
))

#: English words of ``expected`` texts and their Chinese form (whole text only).
EXPECTED: dict[str, str] = {
    "a whole number": "整数",
    "true/false (是/否)": "是/否",
    "a date YYYY-MM-DD": "日期 YYYY-MM-DD",
    "text": "文本",
    "a non-empty text id": "非空的文本编号",
    "a percentage such as '98%'": "百分比，如 '98%'",
    "an amount of money (元)": "金额（元）",
    "a number": "数",
    "a percentage": "百分比",
    "a short text id": "简短的文本编号",
    "plain data: mappings, lists, text, numbers, booleans, dates": "普通数据：映射、列表、文本、数、布尔值、日期",
}


_GROUP_TABLES.update(type=TYPE_NAMES_ZH, kind=KINDS_ZH, json=JSON_TYPES_ZH, role=_ROLES_ZH)


def resolve_lang(given: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The language asked for: ``--lang``, ``$KAOHE_LANG``, a zh/en locale; None when nothing says.

    None means "as kaohe has always done": English messages, Chinese reports.
    """
    if given in LANGS:
        return given
    env = os.environ if environ is None else environ
    chosen = env.get("KAOHE_LANG", "").strip().lower()
    if chosen in LANGS:
        return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            low = value.lower()
            return "zh" if low.startswith("zh") else "en" if low.startswith("en") else None
    return None


def text(key: str, lang: str | None, **fields: Any) -> str:
    """The catalogue text ``key`` in ``lang`` (English when ``lang`` is None), filled in."""
    entry = TEXTS[key]
    return entry["zh" if lang == "zh" else "en"].format(**fields)


def translated(patterns: tuple[tuple[re.Pattern[str], str], ...], message: str) -> str | None:
    """``message`` in Chinese by the first pattern that matches it, or None.

    The groups of the pattern are the values the message quotes and fill ``{0}``, ``{1}``…;
    a group named ``type`` is a Python type name (:data:`TYPE_NAMES_ZH`), one named ``kind``
    a kind of fact (:data:`KINDS_ZH`).
    """
    for pattern, zh in patterns:
        match = pattern.match(message)
        if match:
            groups = list(match.groups())
            for name, index in pattern.groupindex.items():
                if name == "inner":
                    groups[index - 1] = fact_message_zh(groups[index - 1])
                    continue
                if name == "detail":
                    groups[index - 1] = detail_zh(groups[index - 1])
                    continue
                table = _GROUP_TABLES.get(name, {})
                groups[index - 1] = table.get(groups[index - 1], groups[index - 1])
            return zh.format(*groups)
    return None


#: What Python's JSON parser and UTF-8 decoder say (the ``detail`` of a reader's message) in Chinese.
DETAILS_ZH: dict[str, str] = {
    "Expecting value": "此处应有一个值",
    "Expecting property name enclosed in double quotes": "此处应有用双引号括起的键",
    "Expecting ',' delimiter": "此处应有逗号 ','",
    "Expecting ':' delimiter": "此处应有冒号 ':'",
    "Extra data": "多余的内容",
    "Unterminated string starting at": "字符串没有结束，开始于",
    "Invalid control character at": "无效的控制字符，位于",
    "Invalid \\escape": "无效的转义 \\",
    "Invalid \\uXXXX escape": "无效的 \\uXXXX 转义",
    "Expecting an array or an object": "此处应为数组或对象",
    "Unbalanced brackets": "括号不配对",
    "invalid start byte": "无效的起始字节",
    "invalid continuation byte": "无效的后续字节",
    "unexpected end of data": "数据意外结束",
}
_JSON_PLACE = re.compile(r"(.+): line (\d+) column (\d+) \(char (\d+)\)\Z", re.S)


def detail_zh(detail: str) -> str:
    """A library's detail (:data:`DETAILS_ZH`), with the JSON parser's place as 第 N 行第 N 列; else as it is."""
    match = _JSON_PLACE.match(detail)
    if match:
        what, line, column, char = match.groups()
        return f"第 {line} 行第 {column} 列（第 {char} 个字符）：{DETAILS_ZH.get(what, what)}"
    return DETAILS_ZH.get(detail, detail)


def fact_message_zh(message: str) -> str:
    """A fact message (or a reader's row error) in Chinese by the catalogue, else the English message.

    A reader joins the problems of one row with "; ": when the whole does not match, each
    part is translated on its own (and the whole stays English unless every part has a form).
    """
    zh = translated(READER_MESSAGES, message) or translated(FACT_MESSAGES, message)  # the specific ones first
    if zh is not None:
        return zh
    parts = message.split("; ")
    if len(parts) > 1:
        done = [translated(READER_MESSAGES, p) or translated(FACT_MESSAGES, p) for p in parts]
        if all(d is not None for d in done):
            return "；".join(str(d) for d in done)
    return message


def expected_zh(expected: str) -> str:
    """An ``expected`` text in Chinese (:data:`EXPECTED`, :data:`EXPECTED_MESSAGES`), else as it is."""
    if expected in EXPECTED:
        return EXPECTED[expected]
    zh = translated(EXPECTED_MESSAGES, expected)
    return expected if zh is None else zh


def hint_zh(hint: str) -> str:
    """A hint in Chinese (:data:`HINT_MESSAGES`), else as it is (a fact's label and clause already are)."""
    zh = translated(HINT_MESSAGES, hint)
    return hint if zh is None else zh


#: How a fact is named in a Chinese message: its label and clause (None when the policy has none).
FactNamer = Callable[[str], tuple[str | None, str | None]]


def problem_line(problem: Mapping[str, Any], lang: str | None, namer: FactNamer | None = None) -> str:
    """One problem of an error entry, as the indented line under its head (English byte-identical)."""
    if "fact" not in problem:
        message = str(problem["message"])
        return f"  - {fact_message_zh(message) if lang == 'zh' else message}"
    fact = str(problem["fact"])
    message = str(problem["message"])
    expected = problem.get("expected")
    hint = problem.get("hint")
    if lang != "zh":
        line = f"  - {fact}: {message}"
        if expected:
            line += f" (expected {expected})"
        if hint:
            line += f"; {hint}"
        return line
    label, clause = namer(fact) if namer is not None else (None, None)
    name = f"「{label}」({fact})" if label and label != fact else f"「{fact}」"
    if clause:
        name += f"〔{clause}〕"
    line = f"  - {name}：{fact_message_zh(message)}"
    if expected:
        line += text("expected", "zh", expected=expected_zh(str(expected)))
    if hint and str(hint) not in (label, f"{label} ({clause})"):  # the label and clause are named already
        line += text("hint", "zh", hint=hint_zh(str(hint)))
    return line


def entry_text(entry: Mapping[str, Any], lang: str | None, namer: FactNamer | None = None) -> str:
    """An error entry (``ErrorEntry.to_dict()``) as ``kaohe`` writes it to standard error."""
    unit = entry.get("unit")
    location = entry.get("location")
    head = text("entry_head_unit", lang, location=location, unit=unit) if unit else \
        text("entry_head", lang, location=location)
    return "\n".join([head] + [problem_line(p, lang, namer) for p in entry.get("problems", ())])


def problems_text(entry: Mapping[str, Any], lang: str | None, namer: FactNamer | None = None) -> str:
    """The problems of an entry on one line each, without indentation (a spreadsheet cell)."""
    return "\n".join(problem_line(p, lang, namer)[4:] for p in entry.get("problems", ()))


#: Ledger inputs (issue #16): the events of a shared ledger, read beside the units
#: (:mod:`kaohe_rules.unitio`), and the ``--ledger NAME=FILE`` option.
LEDGER_TEXTS: dict[str, dict[str, str]] = {
    "in_ledger_unknown": {"en": "{shown}: 未知的台账 / unknown ledger {name!r}{hint}; the policy declares {known}",
                          "zh": "{shown}：未知的台账 {name!r}{hint_zh}；本办法声明的台账有 {known}"},
    "in_ledger_none": {"en": "{shown}: 本办法没有台账 / the policy declares no ledger, but {shown} gives the"
                             " ledger {name!r}",
                       "zh": "{shown}：本办法没有声明台账，但 {shown} 给出了台账 {name!r}"},
    "in_ledger_twice": {"en": "台账给出了两次 / the ledger {name!r} is given twice: in {first} and in {second};"
                              " give it once",
                        "zh": "台账 {name!r} 给出了两次：{first} 和 {second}；只能给一次"},
    "in_ledger_option": {"en": "--ledger {option!r}: expected NAME=FILE, e.g. --ledger 事故台账=accidents.csv"
                               " or --ledger 事故台账=book.xlsx#Sheet1",
                         "zh": "--ledger {option!r}：应为 台账名=文件，如 --ledger 事故台账=事故.csv"
                               " 或 --ledger 事故台账=台账.xlsx#工作表"},
    "in_ledgers_not_object": {"en": '{shown}: "ledgers" 必须是对象 / "ledgers" must be an object'
                                    ' {{"LEDGER": [events]}} (got {got})',
                              "zh": "{shown}：'ledgers' 必须是对象 '{{\"台账名\": [事件, …]}}'（而不是{got_zh}）"},
    "in_ledgers_twice": {"en": "{shown}: 键重复 / the key {what!r} appears twice", "zh": "{shown}：键 {what!r} 出现了两次"},
    "in_ledger_not_array": {"en": "{shown}: 台账 {name!r} 必须是事件的数组 / the ledger {name!r} must be an array"
                                  " of events (got {got})",
                            "zh": "{shown}：台账 {name!r} 必须是事件的数组（而不是{got_zh}）"},
    "in_ledger_line": {"en": '{shown}: 台账事件行无效 / a ledger line names its ledger: {{"ledger": NAME,'
                             ' "event": {{…}}}}, and "ledger" here is {got}',
                       "zh": "{shown}：台账事件行无效：应为 '{{\"ledger\": 台账名, \"event\": {{…}}}}'，而这里的"
                             " 'ledger' 是{got_zh}"},
    "in_ledger_format": {"en": "{shown}: 无法识别的台账文件格式 / unknown ledger file format {ext!r}; expected .csv,"
                               " .tsv, .xlsx, .json (an array of events) or .jsonl (one event per line)",
                         "zh": "{shown}：无法识别的台账文件格式 {ext!r}；应为 .csv、.tsv、.xlsx、.json（事件的数组）"
                               "或 .jsonl（每行一个事件）"},
    "in_ledger_not_events": {"en": "{shown}: 台账文件必须是事件的数组 / a ledger file holds an array of events,"
                                   ' or {{"ledgers": {{…}}}} (got {got})',
                             "zh": "{shown}：台账文件应为事件的数组，或 '{{\"ledgers\": {{…}}}}'（而不是{got_zh}）"},
    "in_ledger_sheet": {"en": "{shown}: 没有工作表 {sheet!r} / no sheet {sheet!r}; the sheets are {titles}",
                        "zh": "{shown}：没有工作表 {sheet!r}；工作表有 {titles}"},
    "in_ledger_sheets_twice": {"en": "{shown}: 台账 {name!r} 有两个工作表 / two sheets give the ledger {name!r}:"
                                     " {titles}; keep one",
                               "zh": "{shown}：台账 {name!r} 有两个工作表（{titles}）；请只保留一个"},
    "whatif_needs_id": {"en": "--set and --patch change one unit: name it with --id",
                        "zh": "--set 和 --patch 修改一个单位：请用 --id 指明是哪个单位"},
    "no_ledgers": {"en": "{policy} declares no ledger: --event, --drop-event and --add-event change a ledger's events",
                   "zh": "{policy} 没有声明台账：--event、--drop-event、--add-event 用于修改台账事件"},
}
TEXTS.update(LEDGER_TEXTS)
