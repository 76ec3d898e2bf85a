"""``make bench``: retrieval figures, then answer figures through the HTTP API."""

from benchmarks import chat, retrieval

if __name__ == "__main__":
    retrieval.main()
    print()
    chat.main()
