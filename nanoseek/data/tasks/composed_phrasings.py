"""Training phrasings composed from parts, so that the arithmetic families are asked in
hundreds of sentences rather than a dozen and the model learns to find the operation and
its operands in a sentence it has not seen.

Two kinds, built per family and language in the same order in every language:
- bare questions: an opener ("Can you work out {q}?") around an expression of the
  operation ("{a} times {b}"), openers x expressions;
- word problems: a story frame with a person and a kind of thing filled in, frames x
  people x things; {a} and {b} stay fields, as in the hand-written templates.

Only training uses them. The heldout phrasings (phrasings.py) stay unseen: no frame,
opener or expression repeats a heldout sentence, and the heldout stories' subjects
(students, hikers, buses, tickets) appear in no frame.
"""

import string
from dataclasses import dataclass

from nanoseek.data.tasks.common import LANGUAGES

Frame = tuple[str, ...]  # sentences that differ only in the people and things filled in
Group = tuple[Frame, ...]  # what `phrasings.phrase` draws from: a frame, then one of its sentences


@dataclass(frozen=True)
class Thing:
    en: str  # plural
    es: str  # plural
    es_feminine: bool  # for "cuántos" / "cuántas"
    zh: str
    zh_measure: str  # the measure word that counts it: 个, 张, 支...


THINGS = (
    Thing("apples", "manzanas", True, "苹果", "个"), Thing("marbles", "canicas", True, "弹珠", "颗"),
    Thing("stamps", "sellos", False, "邮票", "张"), Thing("coins", "monedas", True, "硬币", "枚"),
    Thing("cards", "cromos", False, "卡片", "张"), Thing("shells", "conchas", True, "贝壳", "个"),
    Thing("stickers", "pegatinas", True, "贴纸", "张"), Thing("pencils", "lápices", False, "铅笔", "支"),
    Thing("eggs", "huevos", False, "鸡蛋", "个"), Thing("balloons", "globos", False, "气球", "个"),
    Thing("cookies", "galletas", True, "饼干", "块"), Thing("flowers", "flores", True, "花", "朵"),
)
NAMES = {
    "en": ("Mia", "Leo", "Sara", "Omar", "Lily", "Jack", "Nora", "Sam"),
    "es": ("Lucía", "Pablo", "Marta", "Diego", "Elena", "Hugo", "Carmen", "Raúl"),
    "zh": ("小明", "小红", "小华", "小丽", "小刚", "小芳", "小军", "小兰"),
}
OPENERS = {
    "en": ("What is {q}?", "Compute {q}.", "Tell me {q}.", "Can you work out {q}?",
           "Quick question: what is {q}?", "I need to know {q}.", "Find {q}.", "Give me {q}.",
           "Please figure out {q}.", "Do you know {q}?"),
    "es": ("¿Cuánto es {q}?", "Calcula el resultado de {q}.", "Dime cuánto da {q}.",
           "¿Me puedes decir cuánto es {q}?", "Pregunta rápida: ¿cuánto es {q}?", "Necesito saber cuánto es {q}.",
           "Halla cuánto es {q}.", "Quiero saber cuánto da {q}.", "Por favor, averigua cuánto es {q}.",
           "¿Sabes cuánto es {q}?"),
    "zh": ("{q} 是多少？", "计算 {q}。", "告诉我 {q}。", "你能算出 {q} 吗？", "快问一下：{q} 是多少？", "我想知道 {q}。",
           "求 {q}。", "给我算 {q}。", "请算出 {q}。", "你知道 {q} 是多少吗？"),
}

# Per family and language, the same number of entries in the same order.
EXPRESSIONS = {
    "addition": {
        "en": ("{a} + {b}", "{a} plus {b}", "the sum of {a} and {b}", "the total of {a} and {b}",
               "{b} more than {a}", "{a} increased by {b}", "{a} and {b} combined", "the result of adding {b} to {a}"),
        "es": ("{a} + {b}", "{a} más {b}", "la suma de {a} y {b}", "el total de {a} y {b}", "{b} sumado a {a}",
               "{a} aumentado en {b}", "{a} y {b} juntos", "el resultado de sumarle {b} a {a}"),
        "zh": ("{a} + {b}", "{a} 加 {b}", "{a} 与 {b} 的和", "{a} 和 {b} 的总数", "比 {a} 多 {b} 的数",
               "{a} 增加 {b} 后的数", "{a} 和 {b} 合在一起", "{a} 加上 {b} 的结果"),
    },
    "subtraction": {
        "en": ("{a} - {b}", "{a} minus {b}", "{a} take away {b}", "{b} subtracted from {a}",
               "{a} decreased by {b}", "{a} less {b}", "{a} reduced by {b}", "the result of taking {b} away from {a}"),
        "es": ("{a} - {b}", "{a} menos {b}", "{a} quitándole {b}", "{a} restándole {b}", "{a} disminuido en {b}",
               "{a} rebajado en {b}", "{a} reducido en {b}", "el resultado de quitarle {b} a {a}"),
        "zh": ("{a} - {b}", "{a} 减 {b}", "{a} 去掉 {b}", "{a} 减去 {b}", "比 {a} 少 {b} 的数",
               "{a} 减少 {b} 后的数", "{a} 扣掉 {b}", "从 {a} 里拿走 {b} 的结果"),
    },
    "multiplication": {
        "en": ("{a} × {b}", "{a} times {b}", "the product of {a} and {b}", "{a} * {b}", "{a} groups of {b}",
               "{a} lots of {b}", "{a} sets of {b}", "the result of multiplying {a} by {b}"),
        "es": ("{a} × {b}", "{a} por {b}", "el producto de {a} y {b}", "{a} * {b}", "{a} veces {b}",
               "{a} lotes de {b}", "{a} grupos de {b}", "el resultado de multiplicar {a} por {b}"),
        "zh": ("{a} × {b}", "{a} 乘 {b}", "{a} 与 {b} 的积", "{a} * {b}", "{a} 的 {b} 倍",
               "{a} 个 {b}", "{a} 组 {b}", "把 {a} 和 {b} 相乘的结果"),
    },
}

# Story fields: {name}; {things} (es/en plural), {Cuantos} (es), {thing} and {m} (zh noun and
# measure word). Subtraction's stories count quantities that may go below zero.
STORIES = {
    "addition": (
        {"en": "{name} has {a} {things} and gets {b} more. How many {things} does {name} have now?",
         "es": "{name} tiene {a} {things} y consigue {b} más. ¿{Cuantos} {things} tiene ahora?",
         "zh": "{name}有 {a} {m}{thing}，又得到了 {b} {m}。{name}现在有多少{m}{thing}？"},
        {"en": "{name} had {a} {things}, then a friend gave {name} {b} more. How many {things} does {name} "
               "have in total?",
         "es": "{name} tenía {a} {things} y un amigo le regaló {b} más. ¿{Cuantos} {things} tiene en total?",
         "zh": "{name}原来有 {a} {m}{thing}，朋友又送给{name} {b} {m}。{name}一共有多少{m}{thing}？"},
        {"en": "There are {a} {things} in a box and {b} {things} in a bag. How many {things} are there "
               "altogether?",
         "es": "Hay {a} {things} en una caja y {b} {things} en una bolsa. ¿{Cuantos} {things} hay en total?",
         "zh": "盒子里有 {a} {m}{thing}，袋子里有 {b} {m}{thing}。一共有多少{m}{thing}？"},
        {"en": "{name} collected {a} {things} on Monday and {b} on Tuesday. How many {things} did {name} "
               "collect in the two days?",
         "es": "{name} juntó {a} {things} el lunes y {b} el martes. ¿{Cuantos} {things} juntó en los dos días?",
         "zh": "{name}星期一收集了 {a} {m}{thing}，星期二收集了 {b} {m}。{name}两天一共收集了多少{m}{thing}？"},
        {"en": "A shop sold {a} {things} in the morning and {b} in the afternoon. How many {things} did it "
               "sell that day?",
         "es": "Una tienda vendió {a} {things} por la mañana y {b} por la tarde. ¿{Cuantos} {things} vendió "
               "ese día?",
         "zh": "商店上午卖出 {a} {m}{thing}，下午卖出 {b} {m}。这一天一共卖出多少{m}{thing}？"},
        {"en": "{name} puts {b} {things} into a jar that already holds {a}. How many {things} are in the jar?",
         "es": "{name} mete {b} {things} en un bote que ya tenía {a}. ¿{Cuantos} {things} hay en el bote?",
         "zh": "罐子里已经有 {a} {m}{thing}，{name}又放进 {b} {m}。罐子里现在有多少{m}{thing}？"},
        {"en": "{name} read {a} pages yesterday and {b} pages today. How many pages has {name} read so far?",
         "es": "{name} leyó {a} páginas ayer y {b} páginas hoy. ¿Cuántas páginas ha leído hasta ahora?",
         "zh": "{name}昨天读了 {a} 页，今天读了 {b} 页。{name}到现在一共读了多少页？"},
        {"en": "A club had {a} members and {b} new members joined. How many members does the club have now?",
         "es": "Un club tenía {a} socios y se apuntaron {b} socios nuevos. ¿Cuántos socios tiene ahora el club?",
         "zh": "俱乐部原有 {a} 名会员，又加入了 {b} 名新会员。俱乐部现在有多少名会员？"},
        {"en": "A plant was {a} millimeters tall and grew {b} millimeters. How tall is it now?",
         "es": "Una planta medía {a} milímetros y creció {b} milímetros. ¿Cuánto mide ahora?",
         "zh": "一棵小树原来高 {a} 毫米，又长高了 {b} 毫米。现在有多高？"},
        {"en": "{name} puts {a} {things} and {b} {things} together in one pile. How many {things} are in the pile?",
         "es": "{name} junta {a} {things} y {b} {things} en un montón. ¿{Cuantos} {things} hay en el montón?",
         "zh": "{name}把 {a} {m}{thing}和 {b} {m}{thing}放在一起。一共有多少{m}{thing}？"},
        {"en": "{name} scored {a} points in the first game and {b} points in the second. How many points did "
               "{name} score in all?",
         "es": "{name} marcó {a} puntos en el primer partido y {b} en el segundo. ¿Cuántos puntos marcó en total?",
         "zh": "{name}第一场比赛得了 {a} 分，第二场得了 {b} 分。{name}一共得了多少分？"},
        {"en": "A train has {a} people on board and {b} more get on. How many people are on the train now?",
         "es": "En un tren van {a} personas y suben {b} más. ¿Cuántas personas van ahora en el tren?",
         "zh": "火车上有 {a} 人，又上来了 {b} 人。现在火车上有多少人？"},
        {"en": "{name} found {a} {things} and then {b} more. How many {things} did {name} find altogether?",
         "es": "{name} encontró {a} {things} y después {b} más. ¿{Cuantos} {things} encontró en total?",
         "zh": "{name}先找到 {a} {m}{thing}，后来又找到 {b} {m}。{name}一共找到多少{m}{thing}？"},
    ),
    "subtraction": (
        {"en": "{name} has {a} dollars in the bank and pays a bill of {b} dollars. What is the balance now?",
         "es": "{name} tiene {a} euros en el banco y paga una factura de {b} euros. ¿Cuál es el saldo ahora?",
         "zh": "{name}的银行账户里有 {a} 元，付了一笔 {b} 元的账单。现在余额是多少元？"},
        {"en": "{name} had {a} points in a game and then lost {b} points. What is {name}'s score now?",
         "es": "{name} tenía {a} puntos en un juego y perdió {b} puntos. ¿Cuántos puntos tiene ahora?",
         "zh": "{name}在游戏里有 {a} 分，后来被扣了 {b} 分。{name}现在有多少分？"},
        {"en": "The thermometer showed {a} degrees at noon and {b} degrees less at midnight. What did it show "
               "at midnight?",
         "es": "El termómetro marcaba {a} grados al mediodía y {b} grados menos a medianoche. ¿Qué marcaba a "
               "medianoche?",
         "zh": "中午温度计显示 {a} 度，到半夜降低了 {b} 度。半夜温度计显示多少度？"},
        {"en": "A lift is at floor {a} and goes down {b} floors. Which floor is it at now?",
         "es": "Un ascensor está en la planta {a} y baja {b} plantas. ¿En qué planta está ahora?",
         "zh": "电梯在 {a} 楼，向下走了 {b} 层。现在在几楼？"},
        {"en": "{name} stands at {a} on a number line and walks {b} steps to the left. Where is {name} now?",
         "es": "{name} está en el {a} de la recta numérica y avanza {b} pasos hacia la izquierda. ¿Dónde está "
               "ahora?",
         "zh": "{name}站在数轴上的 {a} 处，向左走了 {b} 步。{name}现在在哪里？"},
        {"en": "A company earned {a} dollars and spent {b} dollars. What was its profit?",
         "es": "Una empresa ingresó {a} euros y gastó {b} euros. ¿Cuál fue su beneficio?",
         "zh": "一家公司收入 {a} 元，支出 {b} 元。它的利润是多少元？"},
        {"en": "After spending {b} dollars, how much does {name} have left of {a} dollars?",
         "es": "Después de gastar {b} euros, ¿cuánto le queda a {name} de sus {a} euros?",
         "zh": "{name}有 {a} 元，花掉 {b} 元后还剩多少元？"},
        {"en": "A balloon floats at {a} meters and sinks {b} meters. How high is it now?",
         "es": "Un globo flota a {a} metros y baja {b} metros. ¿A qué altura está ahora?",
         "zh": "气球在 {a} 米高处，往下落了 {b} 米。现在有多高？"},
        {"en": "The water level was {a} centimeters and fell by {b} centimeters. What is the level now?",
         "es": "El nivel del agua era de {a} centímetros y bajó {b} centímetros. ¿Cuál es el nivel ahora?",
         "zh": "水位原来是 {a} 厘米，后来降了 {b} 厘米。现在水位是多少厘米？"},
        {"en": "{name}'s account holds {a} dollars. A payment removes {b} dollars. How much is in the account now?",
         "es": "La cuenta de {name} tiene {a} euros. Un pago le quita {b} euros. ¿Cuánto hay ahora en la cuenta?",
         "zh": "{name}的账户里有 {a} 元，一笔付款扣走了 {b} 元。账户里现在有多少元？"},
        {"en": "A car is at kilometer {a} and drives {b} kilometers back. At which kilometer is it now?",
         "es": "Un coche está en el kilómetro {a} y retrocede {b} kilómetros. ¿En qué kilómetro está ahora?",
         "zh": "一辆汽车在第 {a} 公里处，往回开了 {b} 公里。现在在第几公里？"},
        {"en": "A kite flies at {a} meters and comes down {b} meters. How high is it now?",
         "es": "Una cometa vuela a {a} metros y baja {b} metros. ¿A qué altura está ahora?",
         "zh": "风筝在 {a} 米高处，下降了 {b} 米。现在有多高？"},
        {"en": "A team had {a} points and a penalty took away {b} points. How many points does the team have now?",
         "es": "Un equipo tenía {a} puntos y una sanción le quitó {b} puntos. ¿Cuántos puntos tiene ahora?",
         "zh": "一个队原有 {a} 分，因犯规被扣掉 {b} 分。这个队现在有多少分？"},
        {"en": "{name} walks {a} steps forward, then {b} steps back. How many steps ahead of the start is {name}?",
         "es": "{name} da {a} pasos hacia delante y luego {b} hacia atrás. ¿Cuántos pasos por delante de la "
               "salida está?",
         "zh": "{name}先向前走 {a} 步，再向后退 {b} 步。{name}在起点前面多少步？"},
    ),
    "multiplication": (
        {"en": "{name} buys {a} packs of {things} with {b} {things} in each pack. How many {things} does "
               "{name} buy?",
         "es": "{name} compra {a} paquetes de {things} con {b} {things} en cada paquete. ¿{Cuantos} {things} "
               "compra?",
         "zh": "{name}买了 {a} 包{thing}，每包有 {b} {m}。{name}一共买了多少{m}{thing}？"},
        {"en": "There are {a} rows of {things}, and each row has {b}. How many {things} are there?",
         "es": "Hay {a} filas de {things} y cada fila tiene {b}. ¿{Cuantos} {things} hay?",
         "zh": "有 {a} 排{thing}，每排 {b} {m}。一共有多少{m}{thing}？"},
        {"en": "{name} buys {a} {things} at {b} dollars each. How much does {name} pay?",
         "es": "{name} compra {a} {things} a {b} euros la unidad. ¿Cuánto paga?",
         "zh": "{name}买了 {a} {m}{thing}，每{m} {b} 元。{name}要付多少元？"},
        {"en": "Each bag holds {b} {things}. How many {things} are in {a} bags?",
         "es": "Cada bolsa tiene {b} {things}. ¿{Cuantos} {things} hay en {a} bolsas?",
         "zh": "每个袋子装 {b} {m}{thing}。{a} 个袋子一共装多少{m}{thing}？"},
        {"en": "{name} saves {b} dollars every week. How much has {name} saved after {a} weeks?",
         "es": "{name} ahorra {b} euros cada semana. ¿Cuánto ha ahorrado después de {a} semanas?",
         "zh": "{name}每周存 {b} 元。{a} 周后{name}一共存了多少元？"},
        {"en": "{a} friends each bring {b} {things}. How many {things} do they bring altogether?",
         "es": "{a} amigos traen {b} {things} cada uno. ¿{Cuantos} {things} traen entre todos?",
         "zh": "{a} 个朋友每人带来 {b} {m}{thing}。他们一共带来多少{m}{thing}？"},
        {"en": "Each of {name}'s {a} boxes contains {b} {things}. How many {things} are there in all?",
         "es": "Cada una de las {a} cajas de {name} contiene {b} {things}. ¿{Cuantos} {things} hay en total?",
         "zh": "{name}有 {a} 个盒子，每个盒子里有 {b} {m}{thing}。一共有多少{m}{thing}？"},
        {"en": "A box of {things} costs {b} dollars. How much do {a} boxes cost?",
         "es": "Una caja de {things} cuesta {b} euros. ¿Cuánto cuestan {a} cajas?",
         "zh": "一盒{thing}要 {b} 元。{a} 盒要多少元？"},
        {"en": "A car travels {b} kilometers every hour. How far does it travel in {a} hours?",
         "es": "Un coche recorre {b} kilómetros cada hora. ¿Cuántos kilómetros recorre en {a} horas?",
         "zh": "一辆汽车每小时行驶 {b} 公里。{a} 小时一共行驶多少公里？"},
        {"en": "{name} runs {b} laps a day for {a} days. How many laps is that altogether?",
         "es": "{name} corre {b} vueltas al día durante {a} días. ¿Cuántas vueltas son en total?",
         "zh": "{name}每天跑 {b} 圈，跑了 {a} 天。一共跑了多少圈？"},
        {"en": "One notebook costs {b} dollars. How much do {a} notebooks cost?",
         "es": "Un cuaderno cuesta {b} euros. ¿Cuánto cuestan {a} cuadernos?",
         "zh": "一本笔记本 {b} 元，{a} 本笔记本要多少元？"},
        {"en": "A garden has {a} rows with {b} plants in every row. How many plants are in the garden?",
         "es": "Un huerto tiene {a} filas con {b} plantas en cada fila. ¿Cuántas plantas hay en el huerto?",
         "zh": "菜园里有 {a} 行，每行种 {b} 棵菜。菜园里一共有多少棵菜？"},
        {"en": "{name} reads {b} pages every day. How many pages does {name} read in {a} days?",
         "es": "{name} lee {b} páginas cada día. ¿Cuántas páginas lee en {a} días?",
         "zh": "{name}每天读 {b} 页。{a} 天一共读多少页？"},
    ),
}


def fields(template: str) -> set[str]:
    """The names of a format string's fields."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def thing_words(thing: Thing, lang: str) -> dict[str, str]:
    """The story fields a kind of thing fills in one language."""
    if lang == "zh":
        return {"thing": thing.zh, "m": thing.zh_measure}
    if lang == "es":
        return {"things": thing.es, "Cuantos": "Cuántas" if thing.es_feminine else "Cuántos"}
    return {"things": thing.en}


def fill_story(frame: dict[str, str], lang: str) -> list[str]:
    """One frame in one language with every person and thing it takes, the numbers kept as
    fields. Which fillers it takes is read off the English frame, so all languages list the
    same fillings in the same order."""
    uses = fields(frame["en"])
    names = NAMES[lang] if "name" in uses else (None,)
    things = THINGS if "things" in uses else (None,)
    out = []
    for name in names:
        for thing in things:
            words = {"a": "{a}", "b": "{b}", "name": name or ""} | (thing_words(thing, lang) if thing else {})
            out.append(frame[lang].format(**words))
    return out


def bare_questions(family: str, lang: str) -> Group:
    """Each opener around each expression, one question per frame."""
    return tuple((opener.format(q=expression),) for opener in OPENERS[lang]
                 for expression in EXPRESSIONS[family][lang])


def word_problems(family: str, lang: str) -> Group:
    """One frame per story, holding all its fillings: a story is drawn as often as any other
    whether it names a person and a thing (96 fillings) or neither (1), so each story's cue
    words count the same."""
    return tuple(tuple(fill_story(frame, lang)) for frame in STORIES[family])


# family -> language -> (bare questions, word problems), each a group of frames
COMPOSED: dict[str, dict[str, tuple[Group, Group]]] = {
    family: {lang: (bare_questions(family, lang), word_problems(family, lang)) for lang in LANGUAGES}
    for family in STORIES
}
