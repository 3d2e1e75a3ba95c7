"""Third-party clients pointed at fmstack's base_url: LangChain and LlamaIndex."""

from __future__ import annotations


def test_langchain_chat_openai(server):
    from langchain_core.messages import HumanMessage, SystemMessage
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=f"{server.url}/v1", api_key="unused", model="default", max_tokens=24, temperature=0)
    msg = llm.invoke([SystemMessage("Answer briefly."), HumanMessage("Name a primary color.")])
    assert msg.content.strip()
    assert msg.usage_metadata["output_tokens"] <= 24 and msg.usage_metadata["input_tokens"] > 0
    streamed = "".join(chunk.content for chunk in llm.stream("Name a primary color."))
    assert streamed.strip()


def test_langchain_structured_output_json_schema(server):
    from langchain_openai import ChatOpenAI
    from pydantic import BaseModel

    class Answer(BaseModel):
        color: str

    llm = ChatOpenAI(base_url=f"{server.url}/v1", api_key="unused", model="default", max_tokens=40, temperature=0)
    out = llm.with_structured_output(Answer, method="json_schema").invoke("What color is grass?")
    assert isinstance(out, Answer) and out.color


def test_llamaindex_openai_like(server):
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(
        model="default",
        api_base=f"{server.url}/v1",
        api_key="unused",
        is_chat_model=True,
        context_window=8192,
        max_tokens=24,
        temperature=0,
    )
    r = llm.chat([ChatMessage(role="user", content="Say hello.")])
    assert r.message.content.strip()
    completion = llm.complete("The opposite of hot is")
    assert completion.text.strip()
    streamed = "".join(c.delta or "" for c in llm.stream_chat([ChatMessage(role="user", content="Say hi.")]))
    assert streamed.strip()
