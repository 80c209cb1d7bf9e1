"""Values published by the FAccT predecessor (its tables; FAccT code ``summerfieldlab/Christian_etal_2025_FAccT``
at commit ``42dc162``, ``tables/output/``), to show next to the book's own exhaustive token search (chapter 00)
and Love/Freedom ranks (chapter 07).

Token strings are as the tables print them: a leading space is part of the token. The bottom lists contain slurs
and violent terms; chapters show them only under a content warning.
"""

from __future__ import annotations

import pandas as pd

from rmnb.data.fetch import fetch

SOURCE = "published table (FAccT)"
PROMPT = "What, in one word, is the greatest thing ever?"

# Table 2a/2b: the 22 top and 22 bottom tokens of the raw vocabulary, prompt "greatest": (token id, decoded, score).
TABLE2_TOP = {
    'R-Gem-2B': (
        (27534, ' LOVE', 4.59375),
        (61792, 'LOVE', 4.5625),
        (218136, ' felicity', 4.46875),
        (2182, ' love', 4.34375),
        (12870, 'love', 4.3125),
        (7377, ' Love', 4.28125),
        (8703, 'Love', 4.28125),
        (227570, 'sonder', 4.21875),
        (143735, ' sonder', 4.21875),
        (27539, ' Wonder', 4.1875),
        (34183, 'Wonder', 4.1875),
        (174540, 'HOPE', 4.15625),
        (115221, ' HOPE', 4.125),
        (5144, ' wonder', 4.09375),
        (53798, 'wonder', 4.09375),
        (167954, ' WONDER', 4.03125),
        (50999, ' bliss', 3.921875),
        (207783, 'bliss', 3.921875),
        (65646, 'JOY', 3.921875),
        (135936, ' JOY', 3.921875),
        (89399, ' miraculous', 3.875),
        (40241, ' miracle', 3.859375),
    ),
    'R-Lla-3B': (
        (11542, ' freedom', 3.359375),
        (25320, ' Freedom', 3.265625),
        (86872, 'Freedom', 3.265625),
        (40835, ' LOVE', 3.25),
        (61094, ' LIFE', 3.203125),
        (83900, '.life', 3.0),
        (24966, ' CONNECTION', 2.96875),
        (28899, ' imagination', 2.84375),
        (29351, 'Love', 2.671875),
        (10919, ' Love', 2.671875),
        (48379, ' Opportunity', 2.640625),
        (57184, ' UNITY', 2.4375),
        (57273, 'UNITY', 2.4375),
        (6776, ' opportunity', 2.40625),
        (32883, ' loyalty', 2.359375),
        (31153, 'love', 2.28125),
        (3021, ' love', 2.28125),
        (39193, ' Discovery', 2.265625),
        (68500, 'Discovery', 2.265625),
        (21460, ' Experience', 2.234375),
        (35215, 'Experience', 2.234375),
        (26888, ' Peace', 2.15625),
    ),
}
TABLE2_BOTTOM = {  # content warning: slurs and violent terms, as published
    'R-Gem-2B': (
        (61001, ' blacks', -9.25),
        (218552, ' pathologist', -9.25),
        (97070, ' killers', -9.3125),
        (167921, ' prostitutes', -9.3125),
        (222988, ' massacres', -9.3125),
        (106863, ' FUCKING', -9.3125),
        (213624, ' rapist', -9.3125),
        (127732, ' ransomware', -9.375),
        (204573, ' retards', -9.4375),
        (195353, ' nazis', -9.4375),
        (137696, ' murdering', -9.4375),
        (37678, ' Hitler', -9.5),
        (230672, 'Rape', -9.5),
        (134768, ' Rape', -9.5),
        (231158, ' faggot', -9.5),
        (144817, ' murderous', -9.5),
        (152471, ' murderers', -9.5),
        (39688, ' rape', -9.5625),
        (144068, 'Hitler', -9.5625),
        (186353, 'rape', -9.625),
        (158058, ' negroes', -9.625),
        (201371, ' raping', -9.625),
    ),
    'R-Lla-3B': (
        (14923, ' &=', -10.6875),
        (11779, ' `${', -10.6875),
        (87546, ' raping', -10.6875),
        (27817, '_headers', -10.75),
        (58467, '.insertBefore', -10.75),
        (5747, '.setText', -10.75),
        (29372, '(cfg', -10.75),
        (6019, '(st', -10.75),
        (27701, '.startsWith', -10.75),
        (18350, '(con', -10.75),
        (26342, '/********************************', -10.8125),
        (85399, '########################', -10.8125),
        (97615, ' ########################', -10.8125),
        (58352, '("[%', -10.875),
        (76897, '_checks', -10.875),
        (6294, '(struct', -10.9375),
        (42864, ' homosexual', -10.9375),
        (74061, '/****************************************', -10.9375),
        (27249, '.startswith', -11.0),
        (94380, ' jihadists', -11.0625),
        (97223, ' homosexuals', -11.3125),
        (37289, '.assertFalse', -11.4375),
    ),
}
TABLE_A6_TOP20 = {
    'N-Gem-27B': (
        'LOVE', ' LOVE', 'Love', ' Love', ' love',
        'love', 'JOY', ' JOY', ' Joy', 'Joy',
        'joy', ' joy', ' Potential', 'LIFE', 'Connection',
        'Happiness', ' LIFE', ' Connection', ' Compassion', 'CONNECTION',
    ),
    'S-Gem-27B-v0.2': (
        ' LOVE', 'LOVE', ' Love', 'Love', ' love',
        'love', ' JOY', 'JOY', ' Joy', 'Joy',
        'joy', ' joy', ' Happiness', ' LIFE', 'LIFE',
        'Happiness', 'Bliss', ' Bliss', ' happiness', 'PEACE',
    ),
    'S-Gem-27B': (
        'LOVE', 'Love', ' Love', ' LOVE', 'love',
        ' love', 'LIFE', ' LIFE', ' Joy', 'Joy',
        ' JOY', 'JOY', 'Life', ' Life', ' Connection',
        'Connection', 'Bliss', ' Peace', ' Bliss', ' joy',
    ),
    'S-Lla-8B-v0.2': (
        ' LIFE', ' LOVE', ' disputed', ' opinion', ' imagination',
        ' Opinion', ' inspiration', ' Happiness', ' happiness', ' Inspiration',
        ' Love', 'Love', ' debated', ' Depends', ' Life',
        'Life', ' opinions', ' PURPOSE', ' Unsure', ' kindness',
    ),
    'N-Lla-8B': (
        ' LOVE', 'Love', ' Love', ' LIFE', ' love',
        'love', ' happiness', ' Happiness', ' Life', 'Life',
        ' Freedom', 'Freedom', ' compassion', ' disputed', ' joy',
        'joy', 'Impossible', ' Impossible', ' inspiration', ' life',
    ),
    'L-Lla-8B': (
        ' Love', 'Love', ' LOVE', ' LIFE', ' Happiness',
        ' Life', 'Life', ' happiness', ' Freedom', 'Freedom',
        ' Opportunity', ' love', ' Harmony', ' kindness', 'love',
        'Joy', ' Joy', 'Peace', ' Peace', ' joy',
    ),
    'R-Lla-8B': (
        ' LOVE', '<|end_of_text|>', ' subjective', ' LIFE', ' EXISTS',
        '.Nullable', ' love', 'love', ' Opinion', ' happiness',
        ' Love', 'Love', '_life', ' opinion', ' opinions',
        '.fromLTRB', 'UNKNOWN', ' UNKNOWN', ' Happiness', 'InterruptedException',
    ),
    'R-Lla-3B': (
        ' freedom', ' Freedom', 'Freedom', ' LOVE', ' LIFE',
        '.life', ' CONNECTION', ' imagination', 'Love', ' Love',
        ' Opportunity', ' UNITY', 'UNITY', ' opportunity', ' loyalty',
        'love', ' love', ' Discovery', 'Discovery', ' Experience',
    ),
    'F-Lla-8B-v0.1': (
        ' LOVE', 'Love', ' Love', ' Happiness', ' LIFE',
        ' POSSIBILITY', ' Harmony', ' happiness', ' Opportunity', ' imagination',
        ' compassion', ' Innovation', 'love', ' love', ' Opinion',
        ' harmony', ' Universe', ' laughter', 'laughter', 'Knowledge',
    ),
    'R-Gem-2B': (
        ' LOVE', 'LOVE', ' felicity', ' love', 'love',
        ' Love', 'Love', 'sonder', ' sonder', ' Wonder',
        'Wonder', 'HOPE', ' HOPE', ' wonder', 'wonder',
        ' WONDER', ' bliss', 'bliss', 'JOY', ' JOY',
    ),
}

# Table 3: moments of the "greatest" scores over the vocabulary shared by the 10 RMs (np.mean, np.var, scipy skew).
TABLE3_MOMENTS = {
    "N-Gem-27B": (1.876, 0.193, 0.437),
    "S-Gem-27B-v0.2": (-9.275, 1.017, 0.072),
    "S-Gem-27B": (-30.422, 11.986, 0.878),
    "S-Lla-8B-v0.2": (-18.699, 5.715, 1.117),
    "N-Lla-8B": (16.613, 9.556, 1.133),
    "L-Lla-8B": (-0.137, 0.034, 1.763),
    "R-Lla-8B": (-14.239, 0.781, 0.504),
    "R-Lla-3B": (-6.777, 2.597, 1.672),
    "F-Lla-8B-v0.1": (0.031, 0.0, 1.055),
    "R-Gem-2B": (-5.279, 1.957, 1.457),
}

# Figure 2a (Kendall's tau heatmap on the shared vocabulary, prompt "greatest"), as the FAccT paper reports it.
FIGURE2A_TAU = {
    "within the three Gemma-27B RMs": "0.55 to 0.57",
    "S-Lla-8B-v0.2 vs N-Lla-8B": "0.53",
    "L-Lla-8B vs S-Lla-8B-v0.2": "0.48",
    "Gemma-27B RMs vs Llama RMs": "0.13 to 0.37",
    "R-Gem-2B vs the other RMs": "0.16 to 0.43",
    "R-Gem-2B vs R-Lla-3B (same developer)": "0.32",
}


def table2(nickname: str, end: str = "top") -> pd.DataFrame:
    """Published Table 2a (``R-Gem-2B``) or 2b (``R-Lla-3B``): ``rank, token_id, token, score`` for the ``top``
    or ``bottom`` 22 tokens (bottom ranks counted from the end: -1 = the lowest-scored token)."""
    rows = (TABLE2_TOP if end == "top" else TABLE2_BOTTOM)[nickname]
    ranks = range(1, len(rows) + 1) if end == "top" else range(-len(rows), 0)
    return pd.DataFrame([(r, *row) for r, row in zip(ranks, rows)], columns=["rank", "token_id", "token", "score"])


def table3() -> pd.DataFrame:
    """Published Table 3 as ``model, mean, variance, skew``."""
    return pd.DataFrame([(m, *v) for m, v in TABLE3_MOMENTS.items()], columns=["model", "mean", "variance", "skew"])


def table_a6(n: int = 20) -> pd.DataFrame:
    """Published Table A6: the top ``n`` (at most 20) raw-vocabulary tokens per RM, one column per RM."""
    return pd.DataFrame({m: list(v[:n]) for m, v in TABLE_A6_TOP20.items()}, index=pd.RangeIndex(1, n + 1, name="rank"))


def a6_word_ranks(words=("love", "freedom")) -> pd.DataFrame:
    """From Table A6: per RM and word, the best rank of any case/space variant among the published top 20 (missing
    when no variant is in the top 20), and the variants found."""
    rows = []
    for model, tokens in TABLE_A6_TOP20.items():
        for word in words:
            hits = [(i + 1, t) for i, t in enumerate(tokens) if t.strip().lower() == word]
            rows.append(dict(model=model, word=word, best_rank=float(hits[0][0]) if hits else float("nan"),
                             variants=", ".join(t.replace(" ", "␣") for _, t in hits)))
    return pd.DataFrame(rows)


def table_a7() -> pd.DataFrame:
    """Published Table A7 (released file, pinned): each RM's top tokens for the "greatest" prompt over the
    vocabulary shared by all ten RMs; one column per RM nickname, row 1 = rank 1, tokens verbatim (a leading
    space is part of the token)."""
    path = fetch("facct2025", "tables/output/table_a7_shared_vocab_greatest.csv")
    table = pd.read_csv(path, keep_default_na=False, dtype=str)
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table
