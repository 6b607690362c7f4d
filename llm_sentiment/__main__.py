from llm_sentiment.cli.main import main

main()
