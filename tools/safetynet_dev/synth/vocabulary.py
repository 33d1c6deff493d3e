"""What generated rows are made of: names, streets, banks, diagnoses, property types.

Also the serial numbers of bank accounts and property certificates: a
bijection of a serial, so that two households never share one. The first
``NARROW_HOUSEHOLDS`` random households (every size the generator took before
issue 23) keep their serials; later ones have accounts packed after them
(below the scripted households' 90,000,000) and certificates of 8 digits
instead of 7 (so never equal to a 7-digit one).
"""

from __future__ import annotations

from typing import Any

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍申尤毕"
    "聂柴焦向柳邢岳齐沿梅莫庄辛管祝左涂谷祁时舒耿牟卜路詹关苗凌费纪靳盛童欧甄项曲成游"
    "阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊兰凤"
    "洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎"
    "锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿"
    "聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔建国志明文斌海波宏亮鹏飞俊峰浩然振华晨辉"
)
RARE_CHARACTERS = "𠮷䶮㛃𪚥㵘䲜"
STREETS = (
    "人民路",
    "解放路",
    "建设街",
    "和平里",
    "新华路",
    "幸福小区",
    "朝阳街",
    "胜利路",
    "光明巷",
    "团结村",
    "中山路",
    "长江路",
    "东风街",
    "跃进里",
    "向阳村",
)
BANKS = ("ICBC", "CCB", "ABC", "BOC", "PSBC", "RCC", "BOCOM", "CMB")
DIAGNOSES = (
    "I10",
    "E11.9",
    "J18.9",
    "I63.9",
    "I21.9",
    "C34.9",
    "N18.5",
    "K29.7",
    "M54.5",
    "J44.9",
    "I50.9",
    "C16.9",
    "S72.0",
    "K80.2",
    "I25.1",
    "C22.0",
)
PROPERTY_TYPES = ("住宅", "商业", "车位", "其他")
AREA_RANGES = ((3500, 10500), (1500, 10500), (1000, 600), (500, 3500))  # (min, span) fen*m2
ACCOUNT_MULT, CERT_MULT = 48_271, 1_234_577
NARROW_HOUSEHOLDS = 700_000  # households with the serials of before issue 23
MEMBERS, ACCOUNTS_EACH, PROPERTIES_EACH = 6, 4, 3  # at most, per household / member
SCRIPTED_ACCOUNT_SERIAL = 90_000_000  # cases.script: scripted accounts from here


def person_name(rnd: Any, rare: bool) -> str:
    """Chinese name; ``rare`` puts one character outside GBK into it."""
    surname = SURNAMES[int(rnd() * len(SURNAMES))]
    given = GIVEN[int(rnd() * len(GIVEN))]
    if rnd() < 0.55:
        given += GIVEN[int(rnd() * len(GIVEN))]
    if rare:
        given = given[:-1] + RARE_CHARACTERS[int(rnd() * len(RARE_CHARACTERS))]
    return surname + given


def masked_account(serial: int, add: int) -> str:
    digits = f"{(ACCOUNT_MULT * serial + add) % 100_000_000:08d}"
    return digits[:4] + "********" + digits[4:]


def cert_no(region: str, serial: int, add: int) -> str:
    return f"{region[:2]}不动产权第{(CERT_MULT * serial + add) % 10_000_000:07d}号"


def account_serial(index: int, member: int, j: int) -> int:
    """Serial of account ``j`` of ``member`` of random household ``index``.

    64 serials a household below NARROW_HOUSEHOLDS (as before issue 23), then
    MEMBERS x ACCOUNTS_EACH a household after them.
    """
    if index < NARROW_HOUSEHOLDS:
        return (index * 8 + member) * 8 + j
    packed = ((index - NARROW_HOUSEHOLDS) * MEMBERS + member) * ACCOUNTS_EACH + j
    return NARROW_HOUSEHOLDS * 64 + packed


def max_account_households() -> int:
    """Random households whose account serials stay below the scripted ones."""
    room = SCRIPTED_ACCOUNT_SERIAL - NARROW_HOUSEHOLDS * 64
    return NARROW_HOUSEHOLDS + room // (MEMBERS * ACCOUNTS_EACH)


def property_cert(region: str, index: int, j: int, add: int) -> str:
    """Certificate of property ``j`` of random household ``index`` (8 digits beyond NARROW)."""
    if index < NARROW_HOUSEHOLDS:
        return cert_no(region, index * 8 + j, add)
    serial = (index - NARROW_HOUSEHOLDS) * PROPERTIES_EACH + j
    return f"{region[:2]}不动产权第{(CERT_MULT * serial + add) % 100_000_000:08d}号"
