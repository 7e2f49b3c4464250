from mvconf.cli import main

main()
