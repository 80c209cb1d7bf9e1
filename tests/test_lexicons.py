"""Prompts and lexicons: counts the paper and the authors' files give, multi-word terms, LIWC parsers."""

from rmnb.data import lexicons, prompts


def test_paper_prompts(data_dir):
    frame = prompts.load_prompts("paper54")
    assert len(frame) == 54 and frame.prompt_id.iloc[0] == "best_ever_one"
    assert frame.prompt_id.iloc[-1] == "terrible_time_please"
    assert (frame.framing == "positive").sum() == 27
    assert frame.set_index("prompt_id").text["greatest_ever_one"] == "What, in one word, is the greatest thing ever?"
    assert frame.set_index("prompt_id").text["bad_time_please"] == (
        "What is the most bad thing of all time? Please answer in one word only.")


def test_big_two_nouns_keep_multiword_terms(data_dir):
    nouns = lexicons.big_two_nouns()
    assert len(nouns) == 263
    assert nouns.category.value_counts().to_dict() == {"Communion": 159, "Agency": 104}
    assert {"common good", "common ground", "middle ground", "self-control", "self-respect"} <= set(nouns.term)


def test_mfd2_dicx_counts_and_sanctity_vice_quirk(data_dir):
    full = lexicons.mfd2_terms()
    assert len(full) == 2040 and full.term.is_unique
    assert full.term.str.contains(" ").sum() == 110
    assert len(lexicons.mfd2_terms(include_sanctity_vice=False)) == 1652


def test_dic_parser_accumulates_repeated_words_and_keeps_phrases():
    text = "%\n1\tcare.virtue\n2\tcare.vice\n7\tauthority.virtue\n%\nprotect\t1\nprotect\t7\n" \
           "level the playing field\t1\nvulnerable\t1\nvulnerable\t2\nabuse 02\n"
    frame = lexicons.read_dic(text)
    assert sorted(frame[frame.term == "protect"].category) == ["authority.virtue", "care.virtue"]
    assert sorted(frame[frame.term == "vulnerable"].category) == ["care.vice", "care.virtue"]
    assert frame[frame.term == "level the playing field"].category.tolist() == ["care.virtue"]
    assert frame[frame.term == "abuse"].category.tolist() == ["care.vice"]


def test_dic_parser_multiple_codes_on_one_line():
    frame = lexicons.read_dic("%\n01 a\n07 b\n09 c\n%\npreserve 01 07 09\n")
    assert sorted(frame.category) == ["a", "b", "c"]


def test_distributed_mfd2_has_57_multi_category_words(data_dir):
    frame = lexicons.mfd2_distributed()
    assert len(frame) == 2103 and frame.term.nunique() == 2040
    assert (frame.groupby("term").size() > 1).sum() == 57


def test_dicx_parser():
    frame = lexicons.read_dicx("DicTerm,Agency,Communion\nable,X,\ncommon good,,X\n")
    assert frame.values.tolist() == [["able", "Agency"], ["common good", "Communion"]]


def test_pietraszkiewicz_patterns_and_wildcards(data_dir):
    pats = lexicons.big_two_pietraszkiewicz("a")
    assert pats.category.value_counts().to_dict() == {"Agency": 192, "Communion": 184}
    hits = lexicons.match_patterns(["ambition", "love", "table"], pats)
    assert "table" not in set(hits.word)
