from licodec.cli import main

main()
