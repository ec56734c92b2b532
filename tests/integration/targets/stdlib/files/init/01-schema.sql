CREATE TABLE greeting (text varchar);
