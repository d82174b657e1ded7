from shashin.cli import main

main()
