"""Many ways to ask each task's question, so the model learns the task rather than one
sentence. Per family and language there are "train" templates, the only ones training
sees, and "heldout" templates, kept for evaluation: a model that solves heldout phrasings
understood the question, it did not memorise its wording. The arithmetic families also
train on hundreds of bare questions and word problems composed from parts
(composed_phrasings.py), a third of their questions each.

A template is the bare question as a `str.format` string over fields of `Problem.metadata`
(addition: {a} and {b}; countdown: {numbers_text} and {target}; ...); `phrase` fills one
in and, for about half of the problems, appends the \\boxed{} instruction, so the model
boxes its answer whether or not it is asked to. Calendar questions come in three kinds
(later, ago, first), each with its own templates. `generate` re-words every question a
family's `make` wrote; the split and the answer never depend on the wording.
"""

import hashlib
import re

from nanoseek.data.tasks.common import Problem, with_boxed
from nanoseek.data.tasks.composed_phrasings import COMPOSED, Group

STYLES = ("train", "heldout")

ADDITION = {
    "en": {
        "train": (
            "What is {a} + {b}?",
            "Add {a} and {b}.",
            "Calculate {a}+{b}",
            "{a} plus {b} equals?",
            "Find the sum of {a} and {b}.",
            "I have {a} apples and buy {b} more. How many apples do I have now?",
            "{a} + {b} = ?",
            "What do you get when you add {b} to {a}?",
            "Compute the total of {a} and {b}.",
            "A library has {a} books and receives {b} new ones. How many books does it have in total?",
            "how much is {a} plus {b}",
            "Please work out {a} + {b}.",
        ),
        "heldout": (
            "What's the sum of {a} and {b}?",
            "A school has {a} students and {b} more enroll. How many students are there now?",
            "Evaluate: {a} + {b}",
            "{a} and {b} added together make what?",
        ),
    },
    "es": {
        "train": (
            "¿Cuánto es {a} + {b}?",
            "Suma {a} y {b}.",
            "Calcula cuánto da {a}+{b}",
            "¿{a} más {b} es igual a?",
            "Halla la suma de {a} y {b}.",
            "Tengo {a} manzanas y compro {b} más. ¿Cuántas manzanas tengo ahora?",
            "¿Qué da {a} + {b}?",
            "¿Qué obtienes si le sumas {b} a {a}?",
            "Calcula el total de {a} y {b}.",
            "Una biblioteca tiene {a} libros y recibe {b} nuevos. ¿Cuántos libros tiene en total?",
            "cuánto es {a} más {b}",
            "Por favor, resuelve {a} + {b}.",
        ),
        "heldout": (
            "¿Cuál es la suma de {a} y {b}?",
            "En un colegio hay {a} alumnos y se matriculan {b} más. ¿Cuántos alumnos hay ahora?",
            "Evalúa la expresión: {a} + {b}",
            "¿Qué resulta de juntar {a} y {b}?",
        ),
    },
    "zh": {
        "train": (
            "{a} + {b} 等于多少？",
            "计算 {a} 加 {b}。",
            "算一下 {a}+{b}",
            "{a} 加上 {b} 是多少？",
            "求 {a} 与 {b} 的和。",
            "我有 {a} 个苹果，又买了 {b} 个。现在一共有多少个苹果？",
            "请问 {a} + {b} = ？",
            "把 {b} 加到 {a} 上，得到多少？",
            "{a} 和 {b} 的总和是多少？",
            "图书馆原有 {a} 本书，又新到了 {b} 本。现在一共有多少本书？",
            "{a}加{b}等于几",
            "请帮我算 {a} + {b}。",
        ),
        "heldout": (
            "{a} 与 {b} 相加的结果是什么？",
            "学校有 {a} 名学生，又有 {b} 名新生入学。现在有多少名学生？",
            "求值：{a} + {b}",
            "{a} 和 {b} 合起来是多少？",
        ),
    },
}

# a - b may be negative (a < b), so the stories are ones where that makes sense
SUBTRACTION = {
    "en": {
        "train": (
            "What is {a} - {b}?",
            "Subtract {b} from {a}.",
            "Calculate {a}-{b}",
            "{a} minus {b} equals?",
            "What is {b} less than {a}?",
            "The temperature was {a} degrees and then dropped by {b} degrees. What is the temperature now?",
            "{a} - {b} = ?",
            "What do you get when you take {b} away from {a}?",
            "Compute {a} minus {b}.",
            "An account holds {a} dollars and {b} dollars are withdrawn. What is the balance now?",
            "how much is {a} minus {b}",
            "Please work out {a} - {b}.",
        ),
        "heldout": (
            "Find the result of subtracting {b} from {a}.",
            "A hiker is at an altitude of {a} meters and descends {b} meters. What is the altitude now?",
            "Evaluate: {a} - {b}",
            "Take {a}, remove {b}: what is left?",
        ),
    },
    "es": {
        "train": (
            "¿Cuánto es {a} - {b}?",
            "Réstale {b} a {a}.",
            "Calcula cuánto da {a}-{b}",
            "¿{a} menos {b} es igual a?",
            "¿Cuánto queda si a {a} le quitas {b}?",
            "La temperatura era de {a} grados y bajó {b} grados. ¿Qué temperatura hace ahora?",
            "¿Qué da {a} - {b}?",
            "¿Qué obtienes si a {a} le restas {b}?",
            "Calcula la resta {a} menos {b}.",
            "Una cuenta tiene {a} euros y se retiran {b} euros. ¿Cuál es el saldo ahora?",
            "cuánto es {a} menos {b}",
            "Por favor, resuelve {a} - {b}.",
        ),
        "heldout": (
            "Halla el resultado de restar {b} a {a}.",
            "Un excursionista está a {a} metros de altitud y baja {b} metros. ¿A qué altitud está ahora?",
            "Evalúa la expresión: {a} - {b}",
            "¿Cuál es la diferencia {a} - {b}?",
        ),
    },
    "zh": {
        "train": (
            "{a} - {b} 等于多少？",
            "从 {a} 中减去 {b}。",
            "算一下 {a}-{b}",
            "{a} 减 {b} 是多少？",
            "{a} 减去 {b} 得几？",
            "气温原来是 {a} 度，后来下降了 {b} 度。现在气温是多少度？",
            "请问 {a} - {b} = ？",
            "{a} 去掉 {b} 后还剩多少？",
            "计算 {a} 减 {b}。",
            "账户里有 {a} 元，取出了 {b} 元。现在余额是多少？",
            "{a}减{b}等于几",
            "请帮我算 {a} - {b}。",
        ),
        "heldout": (
            "求 {a} 减去 {b} 的结果。",
            "登山者在海拔 {a} 米处，又下降了 {b} 米。现在海拔是多少米？",
            "求值：{a} - {b}",
            "{a} 与 {b} 的差（{a} 减 {b}）是多少？",
        ),
    },
}

MULTIPLICATION = {
    "en": {
        "train": (
            "What is {a} × {b}?",
            "Multiply {a} by {b}.",
            "Calculate {a}*{b}",
            "{a} times {b} equals?",
            "Find the product of {a} and {b}.",
            "There are {a} boxes with {b} pencils in each. How many pencils are there in total?",
            "{a} x {b} = ?",
            "What do you get when you multiply {a} and {b}?",
            "Compute {a} · {b}.",
            "A theater has {a} rows of {b} seats. How many seats are there?",
            "how much is {a} times {b}",
            "Please work out {a} * {b}.",
        ),
        "heldout": (
            "What's {a} multiplied by {b}?",
            "Each of {a} buses carries {b} passengers. How many passengers is that altogether?",
            "Evaluate: {a} × {b}",
            "If one ticket costs {b} dollars, how much do {a} tickets cost?",
        ),
    },
    "es": {
        "train": (
            "¿Cuánto es {a} × {b}?",
            "Multiplica {a} por {b}.",
            "Calcula cuánto da {a}*{b}",
            "¿{a} por {b} es igual a?",
            "Halla el producto de {a} y {b}.",
            "Hay {a} cajas con {b} lápices cada una. ¿Cuántos lápices hay en total?",
            "¿Qué da {a} x {b}?",
            "¿Qué obtienes al multiplicar {a} y {b}?",
            "Calcula el producto {a} · {b}.",
            "Un teatro tiene {a} filas de {b} butacas. ¿Cuántas butacas hay?",
            "cuánto es {a} por {b}",
            "Por favor, resuelve {a} * {b}.",
        ),
        "heldout": (
            "¿Cuánto da {a} multiplicado por {b}?",
            "Cada uno de {a} autobuses lleva {b} pasajeros. ¿Cuántos pasajeros son en total?",
            "Evalúa la expresión: {a} × {b}",
            "Si una entrada cuesta {b} euros, ¿cuánto cuestan {a} entradas?",
        ),
    },
    "zh": {
        "train": (
            "{a} × {b} 等于多少？",
            "计算 {a} 乘以 {b}。",
            "算一下 {a}*{b}",
            "{a} 乘 {b} 是多少？",
            "求 {a} 与 {b} 的积。",
            "有 {a} 个盒子，每个盒子里有 {b} 支铅笔。一共有多少支铅笔？",
            "请问 {a} x {b} = ？",
            "{a} 和 {b} 相乘得多少？",
            "计算 {a} · {b}。",
            "剧院有 {a} 排座位，每排 {b} 个。一共有多少个座位？",
            "{a}乘{b}等于几",
            "请帮我算 {a} * {b}。",
        ),
        "heldout": (
            "{a} 乘以 {b} 的结果是什么？",
            "{a} 辆大巴，每辆坐 {b} 名乘客，总共有多少名乘客？",
            "求值：{a} × {b}",
            "一张票 {b} 元，买 {a} 张要多少元？",
        ),
    },
}

LINEAR_EQUATION = {
    "en": {
        "train": (
            "Solve for {variable}: {equation}.",
            "Find {variable} if {equation}.",
            "{equation}. What is {variable}?",
            "What value of {variable} satisfies {equation}?",
            "Solve the equation {equation}.",
            "Given {equation}, find {variable}.",
            "Determine {variable}: {equation}",
            "If {equation}, then {variable} = ?",
            "solve {equation} for {variable}",
            "Find the value of {variable} in the equation {equation}.",
            "What is {variable} when {equation}?",
            "Help me solve this equation: {equation}",
        ),
        "heldout": (
            "Compute {variable} from {equation}.",
            "For which {variable} is {equation} true?",
            "Equation: {equation}\nFind {variable}.",
            "I'm trying to figure out {variable} in {equation}. What is it?",
        ),
    },
    "es": {
        "train": (
            "Resuelve para {variable}: {equation}.",
            "Halla {variable} si {equation}.",
            "{equation}. ¿Cuánto vale {variable}?",
            "¿Qué valor de {variable} cumple {equation}?",
            "Resuelve la ecuación {equation}.",
            "Dado que {equation}, encuentra {variable}.",
            "Determina el valor de {variable}: {equation}",
            "Si {equation}, entonces ¿{variable} = ?",
            "resuelve {equation} despejando la {variable}",
            "Encuentra el valor de {variable} en la ecuación {equation}.",
            "¿Cuánto es {variable} cuando {equation}?",
            "Ayúdame a resolver esta ecuación: {equation}",
        ),
        "heldout": (
            "Calcula {variable} a partir de {equation}.",
            "¿Para qué valor de {variable} se cumple {equation}?",
            "Ecuación: {equation}\nHalla {variable}.",
            "Intento averiguar {variable} en {equation}. ¿Cuánto vale?",
        ),
    },
    "zh": {
        "train": (
            "解关于 {variable} 的方程：{equation}。",
            "已知 {equation}，求 {variable}。",
            "{equation}，{variable} 等于多少？",
            "{variable} 取什么值时满足 {equation}？",
            "解方程 {equation}。",
            "给定 {equation}，求出 {variable}。",
            "求 {variable}：{equation}",
            "若 {equation}，则 {variable} = ？",
            "解 {equation}，求 {variable}",
            "求方程 {equation} 中 {variable} 的值。",
            "当 {equation} 时，{variable} 是多少？",
            "帮我解一下这个方程：{equation}",
        ),
        "heldout": (
            "由 {equation} 算出 {variable}。",
            "{variable} 为何值时 {equation} 成立？",
            "方程：{equation}\n求 {variable}。",
            "我想求出 {equation} 里的 {variable}，它等于多少？",
        ),
    },
}

# check() accepts any subset of the numbers, so no phrasing says "use all of them"
COUNTDOWN = {
    "en": {
        "train": (
            "Using the numbers {numbers_text}, each at most once, and + - * /, write an expression equal to {target}.",
            "Make {target} from {numbers_text} using +, -, * and /. Each number can be used at most once.",
            "Countdown: numbers {numbers_text}, target {target}. Use each number no more than once.",
            "Can you get {target} by combining {numbers_text} with addition, subtraction, multiplication and "
            "division? Don't use any number twice.",
            "Write an arithmetic expression that equals {target}, using only the numbers {numbers_text} "
            "(each at most once) and the operations + - * /.",
            "Reach {target} with {numbers_text}. Allowed: + - * / and parentheses; every number at most once; "
            "you don't have to use all of them.",
            "Numbers: {numbers_text}\nTarget: {target}\nFind an expression using + - * / that hits the target, "
            "using each number at most once.",
            "How can you combine {numbers_text} to get exactly {target}? You may add, subtract, multiply and "
            "divide, using each number once at most.",
            "Find a way to make {target} out of {numbers_text} with basic arithmetic. No number may be used more "
            "than once.",
            "Using some or all of {numbers_text} (each no more than once) and + - * /, build an expression whose "
            "value is {target}.",
            "I need to get {target} using the numbers {numbers_text} and the four basic operations, each number "
            "at most once. What expression works?",
            "Target {target}. Available numbers: {numbers_text}. Operations: + - * /. Each number at most once. "
            "Give the expression.",
        ),
        "heldout": (
            "Combine {numbers_text} with +, -, * and / to produce {target}; each number may appear at most once.",
            "Give me an equation that equals {target}, built from {numbers_text} and + - * /, without repeating "
            "any number.",
            "What expression with the numbers {numbers_text} (each used at most once) and +, -, ×, ÷ evaluates "
            "to {target}?",
            "Numbers game: hit {target} exactly using {numbers_text}, each at most once, with + - * /.",
        ),
    },
    "es": {
        "train": (
            "Con los números {numbers_text}, cada uno como mucho una vez, y + - * /, escribe una expresión que "
            "valga {target}.",
            "Consigue {target} a partir de {numbers_text} usando +, -, * y /. Cada número se puede usar como "
            "máximo una vez.",
            "Cifras: números {numbers_text}, objetivo {target}. Usa cada número una vez como mucho.",
            "¿Puedes obtener {target} combinando {numbers_text} con sumas, restas, multiplicaciones y divisiones? "
            "No repitas ningún número.",
            "Escribe una expresión aritmética igual a {target} usando solo los números {numbers_text} (cada uno "
            "como mucho una vez) y las operaciones + - * /.",
            "Llega a {target} con {numbers_text}. Se permiten + - * / y paréntesis; cada número como máximo una "
            "vez; no hace falta usarlos todos.",
            "Números: {numbers_text}\nObjetivo: {target}\nEncuentra una expresión con + - * / que dé el "
            "objetivo, usando cada número como mucho una vez.",
            "¿Cómo puedes combinar {numbers_text} para obtener exactamente {target}? Puedes sumar, restar, "
            "multiplicar y dividir, usando cada número una vez como máximo.",
            "Busca la forma de formar {target} con {numbers_text} y operaciones básicas. Ningún número puede "
            "usarse más de una vez.",
            "Usando algunos o todos los números {numbers_text} (cada uno una vez como mucho) y + - * /, construye "
            "una expresión cuyo valor sea {target}.",
            "Necesito llegar a {target} con los números {numbers_text} y las cuatro operaciones básicas, cada "
            "número como mucho una vez. ¿Qué expresión sirve?",
            "Objetivo {target}. Números disponibles: {numbers_text}. Operaciones: + - * /. Cada número como mucho "
            "una vez. Da la expresión.",
        ),
        "heldout": (
            "Combina {numbers_text} con +, -, * y / para obtener {target}; cada número puede aparecer como mucho "
            "una vez.",
            "Dame una ecuación que valga {target}, hecha con {numbers_text} y + - * /, sin repetir ningún número.",
            "¿Qué expresión con los números {numbers_text} (cada uno usado como mucho una vez) y +, -, ×, ÷ da "
            "{target}?",
            "Juego de cifras: alcanza exactamente {target} usando {numbers_text}, cada uno como máximo una vez, "
            "con + - * /.",
        ),
    },
    "zh": {
        "train": (
            "用数字 {numbers_text}（每个最多用一次）和 + - * /，写出一个等于 {target} 的算式。",
            "用 {numbers_text} 通过加减乘除凑出 {target}，每个数最多用一次。",
            "数字游戏：给定 {numbers_text}，目标是 {target}，每个数最多用一次。",
            "能用 {numbers_text} 经过加、减、乘、除得到 {target} 吗？任何数字都不能重复使用。",
            "只用数字 {numbers_text}（每个最多一次）和运算 + - * /，写一个值为 {target} 的表达式。",
            "用 {numbers_text} 得到 {target}。可以用 + - * / 和括号，每个数最多用一次，不必全部用完。",
            "数字：{numbers_text}\n目标：{target}\n用 + - * / 找出一个等于目标的算式，每个数字最多用一次。",
            "怎样组合 {numbers_text} 才能恰好得到 {target}？可以加减乘除，每个数最多用一次。",
            "想办法用 {numbers_text} 和四则运算算出 {target}，每个数都不能用两次。",
            "从 {numbers_text} 中选用部分或全部数字（每个最多一次），配合 + - * /，列出一个结果为 {target} 的算式。",
            "我需要用数字 {numbers_text} 和四则运算得到 {target}，每个数最多用一次。什么算式可以？",
            "目标 {target}。可用数字：{numbers_text}。运算：+ - * /。每个数字最多用一次。请给出算式。",
        ),
        "heldout": (
            "把 {numbers_text} 用 +、-、*、/ 组合起来得到 {target}，每个数最多出现一次。",
            "给我一个等于 {target} 的式子，用 {numbers_text} 和 + - * / 组成，数字不能重复使用。",
            "用数字 {numbers_text}（每个至多用一次）和 +、-、×、÷，什么算式的结果是 {target}？",
            "凑数游戏：用 {numbers_text} 恰好凑出 {target}，每个最多用一次，可用 + - * /。",
        ),
    },
}

# {claims} is the speakers' statements, {form} the answer format ("A: knight/knave, ..."),
# {people} how many speak. The role words stay knight/knave: they are what check() reads.
LOGIC = {
    "en": {
        "train": (
            "On an island, knights always tell the truth and knaves always lie. {claims} Who is a knight and who "
            "is a knave? Answer in the form \"{form}\".",
            "Knights never lie; knaves never tell the truth. {claims} Determine who is a knight and who is a "
            "knave. Format: {form}",
            "You meet {people} inhabitants of an island where every knight tells the truth and every knave lies. "
            "{claims} Identify each one as knight or knave, in the form {form}.",
            "{claims} Each speaker is either a knight (always truthful) or a knave (always lying). Who is what? "
            "Reply like: {form}",
            "Logic puzzle. Knights: always truthful. Knaves: always lying.\n{claims}\nWhat is each person? "
            "({form})",
            "Everyone here is a knight, who only says true things, or a knave, who only says false things. "
            "{claims} Work out who is who and answer as {form}.",
            "Solve this knights and knaves puzzle: {claims} (Knights tell the truth, knaves lie.) Give your "
            "answer as \"{form}\".",
            "There are {people} people on the island of knights and knaves. Knights always tell the truth; "
            "knaves always lie. {claims} Which of them are knights and which are knaves? Use the format {form}.",
            "A knight's statements are always true and a knave's are always false. {claims} Can you tell who is "
            "a knight and who is a knave? Write the answer as {form}.",
            "{claims}\nKnowing that knights always tell the truth and knaves always lie, decide who is a knight "
            "and who is a knave. Write it as {form}.",
            "I'm stuck on this riddle. On an island live knights, who always tell the truth, and knaves, who "
            "always lie. {claims} Who's a knight and who's a knave?",
            "Classify each islander as a knight (truth-teller) or a knave (liar). {claims} Answer format: {form}",
        ),
        "heldout": (
            "Here is a puzzle about truth-tellers and liars: knights always tell the truth, knaves always lie. "
            "{claims} Figure out everyone's role and answer in the form {form}.",
            "{people} islanders make the following statements. Knights can only say true things and knaves can "
            "only say false things. {claims} Who is a knight, who is a knave? Format: \"{form}\"",
            "Assume every knight is honest and every knave is a liar. {claims} Based on these statements, what "
            "is each person? Reply in the form {form}.",
            "Knights and knaves: the first always tell the truth, the second always lie. Here is what they "
            "say: {claims} Determine each person's identity ({form}).",
        ),
    },
    "es": {
        "train": (
            "En una isla, los caballeros siempre dicen la verdad y los bribones siempre mienten. {claims} ¿Quién "
            "es caballero y quién es bribón? Responde con la forma «{form}».",
            "Los caballeros nunca mienten y los bribones nunca dicen la verdad. {claims} Determina quién es "
            "caballero y quién es bribón. Formato: {form}",
            "Conoces a {people} habitantes de una isla donde todo caballero dice la verdad y todo bribón miente. "
            "{claims} Identifica a cada uno como caballero o bribón, con la forma {form}.",
            "{claims} Cada uno es caballero (siempre dice la verdad) o bribón (siempre miente). ¿Qué es cada "
            "uno? Contesta así: {form}",
            "Acertijo de lógica. Caballeros: siempre sinceros. Bribones: siempre mentirosos.\n{claims}\n¿Qué es "
            "cada persona? ({form})",
            "Aquí todos son caballeros, que solo dicen cosas ciertas, o bribones, que solo dicen cosas falsas. "
            "{claims} Averigua quién es quién y responde como {form}.",
            "Resuelve este acertijo de caballeros y bribones: {claims} (Los caballeros dicen la verdad; los "
            "bribones mienten.) Da tu respuesta como «{form}».",
            "En la isla de los caballeros y los bribones hay {people} personas. Los caballeros siempre dicen la "
            "verdad; los bribones siempre mienten. {claims} ¿Cuáles son caballeros y cuáles bribones? Usa el "
            "formato {form}.",
            "Lo que dice un caballero siempre es verdad y lo que dice un bribón siempre es falso. {claims} "
            "¿Puedes decir quién es caballero y quién es bribón? Escribe la respuesta como {form}.",
            "{claims}\nSabiendo que los caballeros siempre dicen la verdad y los bribones siempre mienten, decide "
            "quién es caballero y quién es bribón. Escríbelo como {form}.",
            "Me he atascado con este acertijo. En una isla viven caballeros, que siempre dicen la verdad, y "
            "bribones, que siempre mienten. {claims} ¿Quién es caballero y quién es bribón?",
            "Clasifica a cada habitante como caballero (dice la verdad) o bribón (miente). {claims} Formato de "
            "respuesta: {form}",
        ),
        "heldout": (
            "Un acertijo sobre gente sincera y mentirosa: los caballeros siempre dicen la verdad y los bribones "
            "siempre mienten. {claims} Descubre el papel de cada uno y responde con la forma {form}.",
            "{people} isleños hacen las siguientes afirmaciones. Los caballeros solo pueden decir cosas ciertas "
            "y los bribones solo cosas falsas. {claims} ¿Quién es caballero y quién bribón? Formato: «{form}»",
            "Supón que todo caballero es honesto y todo bribón es mentiroso. {claims} Según estas afirmaciones, "
            "¿qué es cada persona? Responde con la forma {form}.",
            "Caballeros y bribones: los primeros siempre dicen la verdad, los segundos siempre mienten. Esto es "
            "lo que dicen: {claims} Determina la identidad de cada uno ({form}).",
        ),
    },
    "zh": {
        "train": (
            "岛上的骑士总说真话，骗子总说假话。{claims}谁是骑士，谁是骗子？请按“{form}”的格式回答。",
            "骑士从不说谎，骗子从不说真话。{claims}请判断谁是骑士、谁是骗子。格式：{form}",
            "你在一个岛上遇到了{people}个人，岛上的骑士只说真话，骗子只说假话。{claims}请指出每个人的身份，格式为{form}。",
            "{claims}每个人要么是骑士（总说真话），要么是骗子（总说假话）。他们分别是什么？按如下格式回答：{form}",
            "逻辑题。骑士：永远说真话。骗子：永远说假话。\n{claims}\n每个人分别是什么身份？（{form}）",
            "这里的人不是只说真话的骑士，就是只说假话的骗子。{claims}请推理出谁是谁，并按{form}的格式作答。",
            "解这道骑士与骗子的谜题：{claims}（骑士说真话，骗子说假话。）答案写成“{form}”。",
            "骑士与骗子之岛上有{people}个人。骑士永远说真话，骗子永远说谎。{claims}他们当中哪些是骑士，哪些是骗子？请用{form}的格式。",
            "骑士说的话一定是真的，骗子说的话一定是假的。{claims}你能判断出谁是骑士、谁是骗子吗？答案写成{form}。",
            "{claims}\n已知骑士总是说真话、骗子总是说假话，请判断每个人是骑士还是骗子，写成{form}。",
            "我被这道推理题难住了：岛上住着总说真话的骑士和总说假话的骗子。{claims}谁是骑士，谁是骗子？",
            "请把每个岛民归类为骑士（说真话）或骗子（说假话）。{claims}答案格式：{form}",
        ),
        "heldout": (
            "一道关于说真话和说假话的题：骑士永远诚实，骗子永远撒谎。{claims}请找出每个人的身份，按{form}的格式回答。",
            "{people}个岛民说了下面的话。骑士只能说真话，骗子只能说假话。{claims}谁是骑士？谁是骗子？格式：“{form}”",
            "假设所有骑士都诚实、所有骗子都撒谎。{claims}根据这些话，每个人分别是什么？请按{form}的格式回答。",
            "骑士和骗子：前者总说真话，后者总说假话。根据以下陈述：{claims}判断每个人的身份（{form}）。",
        ),
    },
}

# {day} is a weekday in the question's language (Spanish ones are lowercase), {n} a count of days
CALENDAR_LATER = {
    "en": {
        "train": (
            "Today is {day}. What day of the week will it be in {n} days?",
            "If today is {day}, what day will it be {n} days from now?",
            "It's {day} today. Which weekday is it {n} days later?",
            "What day of the week comes {n} days after a {day}?",
            "{day} today; what weekday will it be after {n} days?",
            "My trip starts in {n} days and today is {day}. On what day of the week does it start?",
            "Starting from {day}, count {n} days forward. What day is it?",
            "Today is a {day}. Which day of the week is {n} days from today?",
            "If it is {day} now, what day of the week will it be {n} days later?",
            "The deadline is {n} days from today, and today is {day}. What weekday is the deadline?",
            "Add {n} days to {day}. What day of the week do you get?",
            "Suppose today is {day}. What will the day of the week be in {n} days' time?",
        ),
        "heldout": (
            "A package arrives {n} days after today, which is a {day}. On which weekday does it arrive?",
            "What weekday is it {n} days after {day}?",
            "Today's a {day}. Name the day of the week {n} days ahead.",
            "Counting {n} days on from a {day}, which day of the week do you land on?",
        ),
    },
    "es": {
        "train": (
            "Hoy es {day}. ¿Qué día de la semana será dentro de {n} días?",
            "Si hoy es {day}, ¿qué día será dentro de {n} días?",
            "Hoy es {day}. ¿Qué día de la semana es {n} días después?",
            "¿Qué día de la semana cae {n} días después de un {day}?",
            "Estamos a {day}; ¿qué día será pasados {n} días?",
            "Mi viaje empieza dentro de {n} días y hoy es {day}. ¿Qué día de la semana empieza?",
            "Empezando en {day}, cuenta {n} días hacia delante. ¿Qué día es?",
            "Hoy es {day}. ¿Qué día de la semana toca dentro de {n} días?",
            "Si ahora es {day}, ¿qué día de la semana será {n} días más tarde?",
            "El plazo vence dentro de {n} días y hoy es {day}. ¿Qué día de la semana vence?",
            "Suma {n} días a un {day}. ¿Qué día de la semana sale?",
            "Supón que hoy es {day}. ¿Qué día de la semana será dentro de {n} días?",
        ),
        "heldout": (
            "Un paquete llega {n} días después de hoy, que es {day}. ¿Qué día de la semana llega?",
            "¿Qué día de la semana es {n} días después del {day}?",
            "Hoy es {day}. Di qué día de la semana será en {n} días.",
            "Contando {n} días a partir de un {day}, ¿en qué día de la semana caes?",
        ),
    },
    "zh": {
        "train": (
            "今天是{day}。{n}天后是星期几？",
            "如果今天是{day}，那么{n}天以后是星期几？",
            "今天{day}，再过{n}天是星期几？",
            "从{day}往后数{n}天，是星期几？",
            "{day}之后的第{n}天是星期几？",
            "我的旅行在{n}天后开始，今天是{day}。旅行开始那天是星期几？",
            "已知今天是{day}，求{n}天后的星期。",
            "假设今天是{day}，{n}天后是一周中的哪一天？",
            "现在是{day}，过了{n}天以后是周几？",
            "截止日期在{n}天后，今天是{day}。截止那天是星期几？",
            "{day}加上{n}天，是星期几？",
            "今天是{day}，{n}天以后会是星期几呢？",
        ),
        "heldout": (
            "包裹会在今天之后的第{n}天送到，今天是{day}。送到那天是星期几？",
            "{day}过{n}天后是星期几？",
            "今天{day}。说出{n}天后是星期几。",
            "距离今天（{day}）{n}天后的那一天是星期几？",
        ),
    },
}

CALENDAR_AGO = {
    "en": {
        "train": (
            "Today is {day}. What day of the week was it {n} days ago?",
            "If today is {day}, what day was it {n} days ago?",
            "It's {day} today. Which weekday was it {n} days earlier?",
            "What day of the week comes {n} days before a {day}?",
            "{day} today; what weekday was it {n} days back?",
            "I moved here {n} days ago, and today is {day}. On what day of the week did I move?",
            "Starting from {day}, count {n} days backward. What day is it?",
            "Today is a {day}. Which day of the week was {n} days before today?",
            "If it is {day} now, what day of the week was it {n} days earlier?",
            "The order was placed {n} days ago; today is {day}. On what weekday was the order placed?",
            "Subtract {n} days from {day}. What day of the week do you get?",
            "Suppose today is {day}. What was the day of the week {n} days ago?",
        ),
        "heldout": (
            "A letter was sent {n} days before today, which is a {day}. On which weekday was it sent?",
            "What weekday is {n} days before {day}?",
            "Today's a {day}. Name the day of the week {n} days back.",
            "Counting {n} days back from a {day}, which day of the week do you land on?",
        ),
    },
    "es": {
        "train": (
            "Hoy es {day}. ¿Qué día de la semana fue hace {n} días?",
            "Si hoy es {day}, ¿qué día fue hace {n} días?",
            "Hoy es {day}. ¿Qué día de la semana era {n} días antes?",
            "¿Qué día de la semana cae {n} días antes de un {day}?",
            "Estamos a {day}; ¿qué día era {n} días atrás?",
            "Me mudé aquí hace {n} días y hoy es {day}. ¿Qué día de la semana me mudé?",
            "Empezando en {day}, cuenta {n} días hacia atrás. ¿Qué día es?",
            "Hoy es {day}. ¿Qué día de la semana era hace {n} días?",
            "Si ahora es {day}, ¿qué día de la semana fue {n} días antes?",
            "El pedido se hizo hace {n} días; hoy es {day}. ¿Qué día de la semana se hizo el pedido?",
            "Resta {n} días a un {day}. ¿Qué día de la semana sale?",
            "Supón que hoy es {day}. ¿Qué día de la semana fue hace {n} días?",
        ),
        "heldout": (
            "Una carta se envió {n} días antes de hoy, que es {day}. ¿Qué día de la semana se envió?",
            "¿Qué día de la semana es {n} días antes del {day}?",
            "Hoy es {day}. Di qué día de la semana fue hace {n} días.",
            "Contando {n} días hacia atrás desde un {day}, ¿en qué día de la semana caes?",
        ),
    },
    "zh": {
        "train": (
            "今天是{day}。{n}天前是星期几？",
            "如果今天是{day}，那么{n}天以前是星期几？",
            "今天{day}，{n}天前是星期几？",
            "从{day}往前数{n}天，是星期几？",
            "{day}之前的第{n}天是星期几？",
            "我{n}天前搬到这里，今天是{day}。我搬家那天是星期几？",
            "已知今天是{day}，求{n}天前的星期。",
            "假设今天是{day}，{n}天前是一周中的哪一天？",
            "现在是{day}，{n}天以前是周几？",
            "订单是{n}天前下的，今天是{day}。下单那天是星期几？",
            "{day}减去{n}天，是星期几？",
            "今天是{day}，{n}天之前是星期几呢？",
        ),
        "heldout": (
            "一封信在今天之前{n}天寄出，今天是{day}。寄信那天是星期几？",
            "{day}往回倒推{n}天是星期几？",
            "今天{day}。说出{n}天前是星期几。",
            "距离今天（{day}）{n}天前的那一天是星期几？",
        ),
    },
}

# {day} is January 1's weekday, {date} the asked date ("March 5", "5 de marzo", "3月5日");
# every phrasing says the year is not a leap year (365 days, February 28)
CALENDAR_FIRST = {
    "en": {
        "train": (
            "In a year that is not a leap year, January 1 is a {day}. What day of the week is {date}?",
            "January 1 falls on a {day} in a non-leap year. On which weekday does {date} fall?",
            "It's a common year (365 days) and New Year's Day is a {day}. What day of the week is {date}?",
            "If January 1 of a non-leap year is a {day}, what weekday is {date} of the same year?",
            "Non-leap year, January 1 = {day}. Day of the week for {date}?",
            "My birthday is {date}. This year isn't a leap year and it started on a {day}. What day of the week "
            "is my birthday?",
            "A non-leap year begins on a {day}. Which day of the week is {date}?",
            "Given that January 1 was a {day} and the year has no February 29, what day of the week is {date}?",
            "Find the weekday of {date} in a 365-day year whose first day is a {day}.",
            "The year started on a {day} (January 1) and is not a leap year. What day is {date}?",
            "What day of the week will {date} be, if January 1 was a {day} and February has 28 days this year?",
            "In a non-leap year where January 1 is a {day}, {date} is which day of the week?",
        ),
        "heldout": (
            "New Year's Day was a {day}, and this is not a leap year. Which weekday is {date}?",
            "The meeting is on {date}. January 1 of this (non-leap) year was a {day}. On what day of the week is "
            "the meeting?",
            "Suppose a common year starts on a {day}. Determine the day of the week of {date}.",
            "With January 1 on a {day} and 365 days in the year, what weekday does {date} land on?",
        ),
    },
    "es": {
        "train": (
            "En un año no bisiesto, el 1 de enero es {day}. ¿Qué día de la semana es el {date}?",
            "En un año no bisiesto el 1 de enero cae en {day}. ¿En qué día de la semana cae el {date}?",
            "Es un año común (365 días) y el día de Año Nuevo es {day}. ¿Qué día de la semana es el {date}?",
            "Si el 1 de enero de un año no bisiesto es {day}, ¿qué día de la semana es el {date} del mismo año?",
            "Año no bisiesto, 1 de enero = {day}. ¿Día de la semana del {date}?",
            "Mi cumpleaños es el {date}. Este año no es bisiesto y empezó un {day}. ¿Qué día de la semana es mi "
            "cumpleaños?",
            "Un año no bisiesto empieza un {day}. ¿Qué día de la semana es el {date}?",
            "Sabiendo que el 1 de enero fue {day} y que el año no tiene 29 de febrero, ¿qué día de la semana es "
            "el {date}?",
            "Halla el día de la semana del {date} en un año de 365 días cuyo primer día es {day}.",
            "El año empezó un {day} (1 de enero) y no es bisiesto. ¿Qué día es el {date}?",
            "¿Qué día de la semana será el {date} si el 1 de enero fue {day} y febrero tiene 28 días este año?",
            "En un año no bisiesto que empieza un {day}, el {date} ¿qué día de la semana es?",
        ),
        "heldout": (
            "El día de Año Nuevo fue {day} y este año no es bisiesto. ¿Qué día de la semana es el {date}?",
            "La reunión es el {date}. El 1 de enero de este año (no bisiesto) fue {day}. ¿Qué día de la semana "
            "es la reunión?",
            "Supón que un año común empieza un {day}. Determina el día de la semana del {date}.",
            "Si el 1 de enero cae en {day} y el año tiene 365 días, ¿en qué día de la semana cae el {date}?",
        ),
    },
    "zh": {
        "train": (
            "在一个非闰年里，1月1日是{day}。{date}是星期几？",
            "某个平年的1月1日是{day}，那么这一年的{date}是星期几？",
            "今年不是闰年，元旦是{day}。{date}是星期几？",
            "如果一个非闰年的1月1日是{day}，同年{date}是星期几？",
            "非闰年，1月1日为{day}。问{date}是星期几。",
            "我的生日是{date}。今年不是闰年，而且1月1日是{day}。我的生日是星期几？",
            "一个平年从{day}开始，{date}是星期几？",
            "已知1月1日是{day}，且这一年没有2月29日，{date}是星期几？",
            "在一个有365天、第一天是{day}的年份里，求{date}是星期几。",
            "这一年从{day}（1月1日）开始，不是闰年。{date}是周几？",
            "如果1月1日是{day}，今年2月有28天，那么{date}是星期几？",
            "在1月1日是{day}的非闰年中，{date}是一周中的哪一天？",
        ),
        "heldout": (
            "新年第一天是{day}，这一年共365天。请问{date}是星期几？",
            "会议定在{date}。今年（平年）的1月1日是{day}。会议那天是星期几？",
            "假设某个平年从{day}开始，请确定{date}是星期几。",
            "一年有365天，1月1日落在{day}，那么{date}落在星期几？",
        ),
    },
}

CODE_OUTPUT = {
    "en": {
        "train": (
            "What does this Python code print?\n```python\n{code}\n```",
            "What is the output of the following program?\n```python\n{code}\n```",
            "```python\n{code}\n```\nWhat gets printed?",
            "Predict the output of this Python snippet:\n```python\n{code}\n```",
            "If I run this script, what number will it print?\n```python\n{code}\n```",
            "Trace through this code and tell me what it prints.\n```python\n{code}\n```",
            "```python\n{code}\n```\nWhat will this print when executed?",
            "Without running it, what does the following code output?\n```python\n{code}\n```",
            "Here is a short Python program:\n```python\n{code}\n```\nWhat is printed at the end?",
            "What value does the print statement show?\n```python\n{code}\n```",
            "Python question: what's the output?\n```\n{code}\n```",
            "Evaluate this code by hand and give the printed result.\n```python\n{code}\n```",
        ),
        "heldout": (
            "Consider the code below.\n```python\n{code}\n```\nWhat does it output?",
            "My Python script looks like this:\n```python\n{code}\n```\nWhat will I see in the terminal?",
            "Determine the printed output:\n```python\n{code}\n```",
            "```python\n{code}\n```\nWhich number does this program print?",
        ),
    },
    "es": {
        "train": (
            "¿Qué imprime este código de Python?\n```python\n{code}\n```",
            "¿Cuál es la salida del siguiente programa?\n```python\n{code}\n```",
            "```python\n{code}\n```\n¿Qué se imprime?",
            "Predice la salida de este fragmento de Python:\n```python\n{code}\n```",
            "Si ejecuto este script, ¿qué número imprime?\n```python\n{code}\n```",
            "Sigue este código paso a paso y dime qué imprime.\n```python\n{code}\n```",
            "```python\n{code}\n```\n¿Qué mostrará esto al ejecutarse?",
            "Sin ejecutarlo, ¿qué muestra el siguiente código?\n```python\n{code}\n```",
            "Aquí tienes un programa corto de Python:\n```python\n{code}\n```\n¿Qué se imprime al final?",
            "¿Qué valor muestra el print?\n```python\n{code}\n```",
            "Pregunta de Python: ¿cuál es la salida?\n```\n{code}\n```",
            "Evalúa este código a mano y da el resultado impreso.\n```python\n{code}\n```",
        ),
        "heldout": (
            "Considera el código de abajo.\n```python\n{code}\n```\n¿Qué muestra por pantalla?",
            "Mi script de Python es este:\n```python\n{code}\n```\n¿Qué voy a ver en la terminal?",
            "Determina la salida impresa:\n```python\n{code}\n```",
            "```python\n{code}\n```\n¿Qué número imprime este programa?",
        ),
    },
    "zh": {
        "train": (
            "这段 Python 代码会输出什么？\n```python\n{code}\n```",
            "下面这个程序的输出是什么？\n```python\n{code}\n```",
            "```python\n{code}\n```\n会打印出什么？",
            "预测这段 Python 代码的输出：\n```python\n{code}\n```",
            "如果运行这个脚本，它会打印出哪个数？\n```python\n{code}\n```",
            "请逐步跟踪这段代码，告诉我它打印什么。\n```python\n{code}\n```",
            "```python\n{code}\n```\n执行后会输出什么？",
            "不运行代码，判断下面的代码输出什么：\n```python\n{code}\n```",
            "这是一个简短的 Python 程序：\n```python\n{code}\n```\n最后打印的是什么？",
            "print 语句会显示什么值？\n```python\n{code}\n```",
            "Python 题：输出是什么？\n```\n{code}\n```",
            "请手动计算这段代码，给出打印结果。\n```python\n{code}\n```",
        ),
        "heldout": (
            "看下面的代码。\n```python\n{code}\n```\n它输出什么？",
            "我的 Python 脚本如下：\n```python\n{code}\n```\n终端上会显示什么？",
            "求出下列代码打印的结果：\n```python\n{code}\n```",
            "```python\n{code}\n```\n这个程序打印出的数字是多少？",
        ),
    },
}

# template set -> language -> style -> templates
TEMPLATES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "addition": ADDITION, "subtraction": SUBTRACTION, "multiplication": MULTIPLICATION,
    "linear_equation": LINEAR_EQUATION, "countdown": COUNTDOWN, "logic": LOGIC,
    "calendar/later": CALENDAR_LATER, "calendar/ago": CALENDAR_AGO, "calendar/first": CALENDAR_FIRST,
    "code_output": CODE_OUTPUT,
}


def wording(template: str) -> str:
    """A template reduced to its words (lower case, contractions spelled out, no punctuation):
    two templates with the same wording ask the same question."""
    text = template.lower().replace("what's", "what is")
    return " ".join(re.sub(r"[^\w{}]+", " ", text).split())


def clear_of_heldout(composed: dict[str, dict[str, tuple[Group, Group]]]) -> dict[str, dict[str, tuple[Group, Group]]]:
    """The composed questions less any bare question that words a heldout template (an opener
    and an expression can meet in one); it is dropped at its position in every language, so
    the translations stay lined up."""
    out = {}
    for family, by_lang in composed.items():
        clash = {i for lang, (bare, _) in by_lang.items() for i, (question,) in enumerate(bare)
                 if wording(question) in {wording(t) for t in TEMPLATES[family][lang]["heldout"]}}
        out[family] = {lang: (tuple(frame for i, frame in enumerate(bare) if i not in clash), stories)
                       for lang, (bare, stories) in by_lang.items()}
    return out


TRAIN_COMPOSED = clear_of_heldout(COMPOSED)  # what training draws from


def template_set(problem: Problem) -> str:
    """The name of the templates that fit a problem: its family, or for calendar questions
    the family and the question's kind."""
    return f"calendar/{problem.metadata['kind']}" if problem.family == "calendar" else problem.family


def template_groups(problem: Problem, style: str) -> tuple[Group, ...]:
    """The templates of one style ("train" or "heldout") that fit a problem, in the groups
    `phrase` draws from equally: the hand-written templates and, for training questions of
    the arithmetic families, the composed bare questions and word problems."""
    name = template_set(problem)
    hand = tuple((t,) for t in TEMPLATES[name][problem.lang][style])
    return (hand,) + TRAIN_COMPOSED[name][problem.lang] if style == "train" and name in TRAIN_COMPOSED else (hand,)


def templates(problem: Problem, style: str) -> tuple[str, ...]:
    """Every template of one style that fits a problem."""
    return tuple(t for group in template_groups(problem, style) for frame in group for t in frame)


def phrase(problem: Problem, style: str, key: str) -> str:
    """The problem's question in a template of `style`, picked by a hash of (family, key):
    one bit appends the \\boxed{} instruction, for about half of the keys, others pick a
    group of `template_groups`, a frame in it and one of the frame's fillings. The key (in
    `generate`: seed, difficulty and draw index) is language-independent and each language
    lists its templates in the same order, so the same problem in another language is asked
    in the translation of the same template."""
    h = int.from_bytes(hashlib.sha256(f"{problem.family}/{key}".encode()).digest()[:8], "big")
    groups = template_groups(problem, style)
    group = groups[(h >> 40) % len(groups)]
    frame = group[h % len(group)]
    question = frame[h // len(group) % len(frame)].format(**problem.metadata)
    return with_boxed(question, problem.lang) if h >> 32 & 1 else question
