"""``make bench``: retrieval, answers and a load test through the API, then the attack set."""

from benchmarks import attacks, chat, load, retrieval

if __name__ == "__main__":
    retrieval.main()
    print()
    chat.main()
    print()
    load.main()
    print()
    attacks.main()
