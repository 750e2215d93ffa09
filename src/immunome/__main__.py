from immunome.cli import main

main()
