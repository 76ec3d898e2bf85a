"""``make bench``: retrieval figures, answer figures, then a load test, through the API."""

from benchmarks import chat, load, retrieval

if __name__ == "__main__":
    retrieval.main()
    print()
    chat.main()
    print()
    load.main()
