"""Convert the NExT-QA / NExT-GQA annotations of one clip into a ``vrag eval`` question file.

Usage::

    python data/convert_nextqa.py ../shared/eval/annotations/nextqa_4405327307.json \
        --file nextqa_4405327307_stage.mp4 > tests/qa/nextqa_4405327307.jsonl

Each NExT-QA test row becomes one question: the human question, the right choice as
``answer_any`` (the other four choices are not used: vrag answers free-form), the NExT-GQA
answer span as ``span`` when the row has one (more spans go to ``also``), the question type
(``DL`` location, ``DO`` object, ``TN`` temporal next, ``CW`` causal why, ...) as ``kind``, and
``level`` hybrid: every one of them is about what is seen, which naive text search cannot see.
Annotations: NExT-QA (doc-doc/NExT-QA) and NExT-GQA (doc-doc/NExT-GQA), MIT licence.
"""

from __future__ import annotations

import argparse
import json
import sys


def convert(annotation: dict, file: str) -> list[dict]:
    location = annotation.get("nextgqa_grounding", {}).get("location", {})
    out = []
    for row in sorted(annotation["nextqa_test_rows"], key=lambda r: int(r["qid"])):
        answer = row["a" + row["answer"]].strip()
        question = row["question"].strip()
        q = {"id": f"nextqa-{row['qid']}", "question": question[0].upper() + question[1:] + "?", "file": file}
        spans = location.get(row["qid"]) or []
        if spans:
            q["span"] = [float(x) for x in spans[0]]
        if len(spans) > 1:
            q["also"] = [[float(x) for x in s] for s in spans[1:]]
        q.update(answer_any=[answer.lower()], level="hybrid", kind=f"nextqa-{row['type']}")
        out.append(q)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("annotation", help="the NExT-QA annotation JSON of one clip")
    p.add_argument("--file", required=True, help="the clip's file name as indexed")
    args = p.parse_args()
    with open(args.annotation, encoding="utf-8") as fh:
        annotation = json.load(fh)
    print("# NExT-QA test questions (doc-doc/NExT-QA, MIT) with NExT-GQA answer spans; made by data/convert_nextqa.py")
    for q in convert(annotation, args.file):
        print(json.dumps(q, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
