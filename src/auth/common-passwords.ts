/** Common passwords (and those a plant would guess first), refused whatever their length. */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '123456', 'password', '12345678', 'qwerty', '123456789', '12345', '1234', '111111', '1234567', 'dragon',
  '123123', 'baseball', 'abc123', 'football', 'monkey', 'letmein', '696969', 'shadow', 'master', '666666',
  'qwertyuiop', '123321', 'mustang', '1234567890', 'michael', '654321', 'superman', '1qaz2wsx', '7777777', '121212',
  '000000', 'qazwsx', '123qwe', 'killer', 'trustno1', 'jordan', 'jennifer', 'zxcvbnm', 'asdfgh', 'hunter',
  'buster', 'soccer', 'harley', 'batman', 'andrew', 'tigger', 'sunshine', 'iloveyou', '2000', 'charlie',
  'robert', 'thomas', 'hockey', 'ranger', 'daniel', 'starwars', 'klaster', '112233', 'george', 'computer',
  'michelle', 'jessica', 'pepper', '1111', 'zxcvbn', '555555', '11111111', '131313', 'freedom', '777777',
  'pass', 'maggie', '159753', 'aaaaaa', 'ginger', 'princess', 'joshua', 'cheese', 'amanda', 'summer',
  'love', 'ashley', 'nicole', 'chelsea', 'biteme', 'matthew', 'access', 'yankees', '987654321', 'dallas',
  'austin', 'thunder', 'taylor', 'matrix', 'mobilemail', 'mom', 'monitor', 'monitoring', 'montana', 'moon',
  'moscow', 'passw0rd', 'password1', 'password123', 'admin', 'admin123', 'administrator', 'root', 'toor', 'changeme',
  'welcome', 'welcome1', 'letmein123', 'qwerty123', 'iloveyou1', 'abcd1234', '1q2w3e4r', '1q2w3e4r5t', 'zaq12wsx', 'p@ssw0rd',
  'p@ssword', 'scada', 'scada123', 'plc12345', 'operator', 'engineer', 'planta', 'planta123', 'modbus', 'modbus123',
  'password1234', '123456789012', 'qwertyuiop123', 'correcthorsebatterystaple',
]);
