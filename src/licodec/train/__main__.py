from licodec.train.trainer import main

main()
