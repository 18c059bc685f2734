from peoplegraph.cli.main import main

main()
