INSERT INTO greeting VALUES ('hello');
