"""LLM backends: the embedded llama.cpp model and Ollama, behind LangChain's chat model."""
