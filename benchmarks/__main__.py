"""``make bench``: retrieval, answers and a load test through the API, then the injection
screen alone on attack set v2, the attack set end to end, and the regex harness."""

from benchmarks import attacks, chat, injection_screen, load, regex_harness, retrieval

if __name__ == "__main__":
    retrieval.main()
    print()
    chat.main()
    print()
    load.main()
    print()
    injection_screen.main()
    print()
    attacks.main()
    print()
    regex_harness.main()
