state a = 1
when 1 { set cwnd = a + ackd }
