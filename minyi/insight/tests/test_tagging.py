"""Keyword rules, segmentation, training and the JSON export of the reason tagger (no DB)."""

import json
from itertools import pairwise

import numpy as np
import pytest

from minyi.demo.reasons import demo_reasons
from minyi.insight import tagging
from minyi.perception.models import ReasonTag


@pytest.fixture(scope="module")
def demo():
    reasons = demo_reasons()
    return [t for t, _ in reasons], [tags for _, tags in reasons]


@pytest.fixture(scope="module")
def trained(demo):
    texts, labels = demo
    return tagging.train(texts, labels, seed=0)


# --- Rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("窗口民警态度很差，问两句就不耐烦了", ["attitude"]),
        ("民警爱理不理的，脸色很难看", ["attitude"]),
        ("办个身份证跑了几趟，又让我来补材料", ["multiple_trips"]),
        ("报警以后出警慢，等了半小时，警察迟迟不来", ["response_speed"]),
        ("交警收了对方的红包", ["integrity"]),
        ("大厅空调坏了，也没有地方停车", ["facilities"]),
        ("没有一次性告知需要的材料", ["explanation"]),
        ("调解的时候拉偏架，明显偏袒对方", ["conduct"]),
        ("电动车被偷了，报案以后就不了了之", ["outcome"]),
        ("排队排了两个多小时，效率太低", ["efficiency"]),
    ],
)
def test_rules_hit_the_right_tags(text, expected):
    assert tagging.rule_tags(text) == expected


@pytest.mark.parametrize("text", ["不满意", "非常不满意", "不太满意吧", "很不满意！！", "满意"])
def test_unsatisfied_alone_is_not_every_tag(text):
    # "不满意" contains "满意"; neither says why, so no reason tag applies
    assert tagging.rule_tags(text) == []
    assert tagging.rule_suggest(text) == ["other"]


def test_praise_is_not_a_complaint():
    assert tagging.rule_tags("民警态度很好，就是排队太久") == ["efficiency"]
    assert tagging.rule_tags("态度还可以，但问题一直没解决") == ["outcome"]
    assert "attitude" in tagging.rule_tags("态度不好，还很凶")
    assert "attitude" not in tagging.rule_tags("凶手到现在都没抓到")


def test_rules_find_several_tags_in_one_reason():
    text = "排了两个小时的队，轮到我态度还很差，说材料不全让我明天再来"
    assert tagging.rule_tags(text) == ["attitude", "efficiency", "multiple_trips"]


def test_full_width_text_and_digits_are_normalised():
    assert tagging.normalise("ＡＢＣ１２３ 手机13800001111") == "abc0 手机0"
    assert tagging.rule_tags("等了４０分钟警察才来") == ["response_speed"]


def test_empty_text_has_no_tags():
    assert tagging.rule_suggest("  ") == []
    assert tagging.suggest_tags("") == []


# --- Segmentation -------------------------------------------------------------------------


def test_jieba_keeps_keywords_whole():
    words = tagging.tokenize("民警爱理不理的，我跑了几趟，又让我来，出警慢，等了半小时迟迟不来")
    for keyword in ("爱理不理", "跑了几趟", "又让我来", "出警慢", "等了半小时", "迟迟不来"):
        assert keyword in words
    assert "的" not in words and "，" not in words


def test_numbers_never_become_features():
    words = tagging.features("我的手机13812345678，身份证330602199001011234")
    assert not any(any(c.isdigit() and c != "0" for c in w) for w in words)
    assert all("1381" not in w for w in words)


def test_features_are_words_and_word_pairs():
    words = tagging.tokenize("窗口排队太久")
    assert tagging.features("窗口排队太久") == [
        *words,
        *(f"{a} {b}" for a, b in pairwise(words)),
    ]


# --- Training -----------------------------------------------------------------------------


def test_split_is_deterministic_stratified_and_disjoint(demo):
    _texts, labels = demo
    train, test = tagging.split_examples(labels, test_fraction=0.2, seed=7)
    assert (train, test) == tagging.split_examples(labels, test_fraction=0.2, seed=7)
    assert not set(train) & set(test)
    assert sorted(train + test) == list(range(len(labels)))
    assert abs(len(test) - 0.2 * len(labels)) <= 10
    # every tag is in the test part (stratified by each example's rarest tag)
    assert {t for i in test for t in labels[i]} == set(ReasonTag.values)
    assert tagging.split_examples(labels, test_fraction=0.2, seed=8)[1] != test


def test_training_produces_metrics_per_tag(trained):
    assert trained.n_train + trained.n_test == len(demo_reasons())
    assert set(trained.learned) == set(tagging.TAGS)  # every tag has 20+ demo examples
    for source in ("model", "rules"):
        per_tag = trained.metrics[source]["tags"]
        assert set(per_tag) == set(ReasonTag.values)
        for tag, m in per_tag.items():
            assert m["support"] > 0, tag
            assert 0 <= m["recall"] <= 1
            assert m["precision"] is None or 0 <= m["precision"] <= 1
        assert trained.metrics[source]["micro"]["support"] == sum(
            m["support"] for m in per_tag.values()
        )
    assert trained.metrics["sources"]["attitude"] == "model"
    assert trained.metrics["sources"]["other"] == "fallback"
    assert trained.params["tag_counts"]["attitude"] == sum(
        "attitude" in tags for _, tags in demo_reasons()
    )


def test_model_beats_or_equals_the_rules_on_held_out_demo_data(trained):
    model = trained.metrics["model"]["micro"]["f1"]
    rules = trained.metrics["rules"]["micro"]["f1"]
    assert model >= rules
    assert model > 0.6


def test_json_round_trip_predicts_what_sklearn_predicts(demo, trained):
    # Given the exported weights, through JSON text as the database stores them
    compiled = tagging.CompiledModel(json.loads(json.dumps(trained.weights)))
    texts = [*demo[0][:60], "完全没见过的词语组合", "不满意", "态度差态度差态度差"]
    # When both predict the same texts
    x = tagging.design_matrix(trained.vectorizer, texts)
    for tag, clf in trained.classifiers.items():
        expected = clf.predict_proba(x)[:, 1]
        got = np.array([compiled.probabilities(t)[tag] for t in texts])
        # Then the probabilities agree to rounding
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_weights_are_plain_json_without_numbers_from_texts(trained):
    text = json.dumps(trained.weights, ensure_ascii=False)
    assert json.loads(text) == trained.weights
    assert set(trained.weights["tags"]) == set(trained.learned)
    assert len(trained.weights["terms"]) == len(trained.weights["idf"])
    assert not any(ch.isdigit() and ch != "0" for term in trained.weights["terms"] for ch in term)


def test_a_tag_with_too_few_examples_is_left_to_the_rules(demo):
    texts, labels = demo
    # Given integrity confirmed only rarely
    kept = [i for i, tags in enumerate(labels) if "integrity" not in tags]
    rare = [i for i, tags in enumerate(labels) if "integrity" in tags][:8]
    subset = sorted(kept + rare)
    result = tagging.train([texts[i] for i in subset], [labels[i] for i in subset], seed=0)
    # Then it is not learned, and the rules still suggest it
    assert "integrity" not in result.learned
    assert result.metrics["sources"]["integrity"] == "rules"
    compiled = tagging.CompiledModel(result.weights)
    assert "integrity" in compiled.predict("民警收了红包才给我办")


def test_too_little_data_learns_nothing_and_predicts_like_the_rules():
    texts = ["态度很差", "排队太久", "跑了三趟", "不满意"]
    labels = [["attitude"], ["efficiency"], ["multiple_trips"], ["other"]]
    result = tagging.train(texts, labels, seed=0)
    assert result.learned == []
    compiled = tagging.CompiledModel(result.weights)
    for text in [*texts, "民警态度恶劣还收红包"]:
        assert compiled.predict(text) == tagging.rule_suggest(text)


def test_model_prediction_is_never_empty_for_text(trained):
    compiled = tagging.CompiledModel(trained.weights)
    assert compiled.predict("今天天气不错") != []
    assert compiled.predict("") == []
