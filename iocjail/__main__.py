from iocjail.cli.main import main

main()
