from llm_sentiment.cli import main

main()
