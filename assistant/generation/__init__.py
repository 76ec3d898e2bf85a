"""From a question to a verified, cited answer: prompts, context, generation, citations."""
