fold { set cwnd = 1 }
