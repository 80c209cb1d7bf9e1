"""The value-neutral AFINN valence preference set: words, prompts, held-out splits, pairs, errors."""

import pytest

from rmnb.base.errors import RmnbError
from rmnb.data import fetch, lexicons, preferences, valence
from rmnb.data.prompts import paper_prompts
from rmnb.training import recipe, trained


@pytest.fixture(scope="module")
def split(data_dir):
    return valence.valence_split()


@pytest.fixture(scope="module")
def parts(data_dir):
    return valence.valence_data(n_train=512, n_heldout=256)


def test_afinn_is_registered_and_parsed(data_dir):
    assert fetch.url_of("afinn", "AFINN-en-165.txt").startswith(
        "https://raw.githubusercontent.com/fnielsen/afinn/754ca0fcf811693caf97011329f346095573327d/")
    assert fetch.fetch("afinn", "LICENSE-ODbL.md").read_text(encoding="utf-8").startswith(
        "## ODC Open Database License (ODbL)")
    words = lexicons.afinn()
    assert len(words) == 3382 and words.term.is_unique and words.score.between(-5, 5).all()
    assert int(words.term.str.contains(" ").sum()) == 30  # PROVENANCE.md


def test_word_counts_after_each_exclusion(data_dir):
    counts = valence.word_counts().set_index("step")
    assert counts.loc["single words"].tolist() == [3352, 1161, 2191]
    assert counts.loc["minus big_two_expanded"].tolist() == [3165, 999, 2166]
    assert counts.loc["minus mfd2"].tolist() == [2767, 934, 1833]  # counted by hand when the set was designed
    words = valence.valence_words()
    assert len(words) == 2767 and (words.score != 0).all() and not words.term.str.contains(r"\s").any()


def test_words_share_no_term_with_the_big_two_or_mfd2(data_dir):
    words = set(valence.valence_words().term)
    for name, terms in valence.excluded_terms().items():
        assert not words & terms, name
    assert valence.in_dictionary(["kindly", "kind", "cruel"], {"kind*"}).tolist() == [True, True, False]


def test_prompts_are_balanced_and_not_the_papers(data_dir):
    prompts = valence.valence_prompts()
    assert len(prompts) >= 24 and prompts.text.is_unique
    assert (prompts.framing == "positive").sum() == (prompts.framing == "negative").sum()
    paper = list(paper_prompts().text)
    for text in prompts.text:
        assert not valence.paper_overlap(text, paper), text
        lowered = text.lower()
        assert "best thing" not in lowered and "worst thing" not in lowered and "greatest" not in lowered
    for text in paper:  # the check catches every paper prompt
        assert valence.paper_overlap(text, paper)
    assert valence.paper_overlap("In one word, what is the most terrible thing of all time?")


def test_held_out_prompts_and_words_are_disjoint_thirds(split):
    for frame, by in ((split.prompts, "framing"), (split.words, "sign")):
        for _, group in frame.groupby(by):
            held = (group.part == "heldout").sum()
            assert held == round(len(group) / 3) and 0 < held < len(group)
    (p_train, w_train), (p_held, w_held) = split.part("train"), split.part("heldout")
    assert not set(p_train.prompt_id) & set(p_held.prompt_id)
    assert not set(w_train.term) & set(w_held.term)
    assert len(p_held) == 8 and (p_held.framing == "positive").sum() == 4


def test_pairs_use_only_their_part_and_are_balanced(split, parts):
    for data, part in zip(parts, valence.PARTS):
        prompts, words = split.part(part)
        frame = data.frame
        assert set(frame.prompt_id) <= set(prompts.prompt_id)
        assert set(frame.chosen_word) | set(frame.rejected_word) <= set(words.term)
        assert (frame.framing == "positive").sum() == (frame.framing == "negative").sum() == len(frame) // 2
        assert (frame.chosen_score != frame.rejected_score).all()
        assert not frame[["prompt_id", "chosen_word", "rejected_word"]].duplicated().any()
    train, held = parts
    assert not set(train.pair_ids) & set(held.pair_ids)
    assert not set(train.frame.prompt) & set(held.frame.prompt)


def test_chosen_direction_follows_the_framing(parts):
    frame = parts[0].frame
    pos, neg = frame[frame.framing == "positive"], frame[frame.framing == "negative"]
    assert (pos.chosen_score > pos.rejected_score).all() and (neg.chosen_score < neg.rejected_score).all()
    row = frame.iloc[0]
    assert row.chosen == [{"role": "user", "content": row.prompt}, {"role": "assistant", "content": row.chosen_word}]
    assert row.rejected[0] == row.chosen[0] and row.rejected[1]["content"] == row.rejected_word


def test_deterministic_given_the_seed(data_dir, parts):
    again = valence.valence_preferences(n_pairs=512)
    assert again.fingerprint() == parts[0].fingerprint()
    other = valence.valence_preferences(seed=2, n_pairs=512)
    assert other.fingerprint() != parts[0].fingerprint()
    assert set(valence.valence_split(seed=2).part("heldout")[1].term) != set(
        valence.valence_split(seed=1).part("heldout")[1].term)


def test_identical_pairs_and_order_for_every_base(data_dir):
    """Nothing in the data or the plan depends on a base or its tokenizer: building both for two bases (from
    scratch each time) gives the same fingerprint, split and pair order."""
    settings = recipe.preset("cpu")
    plans = {}
    for base_id in ("smollm2-135m-instruct", "gemma3-270m"):
        data = trained.data_for(settings, "afinn-valence")
        train, held = recipe.split_for(data, settings)
        plans[base_id] = (data.fingerprint(), held.fingerprint(), recipe.make_plan(train, settings))
    (fp_a, held_a, plan_a), (fp_b, held_b, plan_b) = plans.values()
    assert fp_a == fp_b and held_a == held_b
    assert plan_a.order == plan_b.order and plan_a.data_fingerprint == plan_b.data_fingerprint
    assert len(data) == valence.DEFAULT_PAIRS["train"]  # the short pairs all pass the cpu preset's max_chars


@pytest.mark.parametrize("seed", [0, -1, 1.5, True])
def test_bad_seed_names_the_fix(seed):
    with pytest.raises(RmnbError, match=r"seed=.*integer >= 1.*Fix: pass seed=1"):
        valence.valence_preferences(seed=seed)


@pytest.mark.parametrize("heldout", [0, 1, -0.2, 1.5])
def test_bad_heldout_names_the_fix(heldout):
    with pytest.raises(RmnbError, match=r"heldout=.*strictly between 0 and 1.*Fix: pass a fraction"):
        valence.valence_split(heldout=heldout)


def test_bad_n_pairs_and_part_name_the_fix(data_dir):
    with pytest.raises(RmnbError, match="even integer"):
        valence.valence_preferences(n_pairs=3)
    with pytest.raises(RmnbError, match="part='test'.*Fix: use one of train, heldout"):
        valence.valence_preferences(part="test")


def test_unknown_data_source_lists_the_valid_ones():
    settings = recipe.preset("cpu")
    with pytest.raises(RmnbError, match="unknown preference data source 'afinn'.*hh-rlhf.*afinn-valence.*Fix"):
        trained.data_for(settings, "afinn")
    with pytest.raises(RmnbError, match="valence_preferences"):
        preferences.load("afinn-valence")


@pytest.mark.parametrize("line", ["good 3", "good\tthree", "good\t7", "\t2", "good\t2\textra"])
def test_lexicon_file_with_a_bad_line_names_file_line_and_fix(tmp_path, line):
    path = tmp_path / "AFINN-bad.txt"
    path.write_text(f"abandon\t-2\n\n{line}\nzealous\t2\n", encoding="utf-8")
    with pytest.raises(RmnbError) as err:
        lexicons.read_afinn(path)
    msg = str(err.value)
    assert str(path) in msg and "line 3" in msg and repr(line) in msg and "Fix: correct or delete that line" in msg


def test_lexicon_reader_accepts_a_good_file(tmp_path):
    path = tmp_path / "mini.txt"
    path.write_text("abandon\t-2\ncan't stand\t-3\nzealous\t+2\n", encoding="utf-8")
    frame = lexicons.read_afinn(path)
    assert frame.term.tolist() == ["abandon", "can't stand", "zealous"] and frame.score.tolist() == [-2, -3, 2]
    path.write_text("good\t2\ngood\t3\n", encoding="utf-8")
    with pytest.raises(RmnbError, match="more than once"):
        lexicons.read_afinn(path)


def test_attribution_and_caveat_texts():
    assert "Open Database License (ODbL)" in valence.ATTRIBUTION and "AFINN-165" in valence.ATTRIBUTION
    assert "correlate" in valence.CAVEAT and "Big Two" in valence.CAVEAT
