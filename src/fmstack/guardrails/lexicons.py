"""Built-in word lists and category examples (English and Chinese).

PROFANITY: common swear words and slurs' everyday forms, matched as whole words in English and as
substrings in Chinese, after NFKC normalisation and lower-casing (so ＦＵＣＫ and Fuck match).
HARM_EXAMPLES: a few sentences per harmful-content category; a text (or one of its sentences)
close enough to one of them, at the category's strength, fires.
"""

PROFANITY = [
    "fuck",
    "fucking",
    "fucker",
    "motherfucker",
    "shit",
    "bullshit",
    "bitch",
    "bastard",
    "asshole",
    "dickhead",
    "cunt",
    "prick",
    "wanker",
    "twat",
    "slut",
    "whore",
    "douchebag",
    "jackass",
    "piss off",
    "son of a bitch",
    "操你妈",
    "操你",
    "草泥马",
    "他妈的",
    "妈的",
    "傻逼",
    "煞笔",
    "沙比",
    "傻屄",
    "狗日的",
    "王八蛋",
    "混蛋",
    "贱人",
    "婊子",
    "滚蛋",
    "去死",
    "尼玛",
    "卧槽",
    "我操",
    "狗娘养的",
    "脑残",
    "白痴",
]

HARM_EXAMPLES = {
    "hate": [
        "People of that race are inferior and should be kicked out of the country.",
        "All immigrants are criminals and vermin.",
        "那个民族的人都是劣等的，应该被赶出去。",
        "外地人都是骗子，全都该滚。",
    ],
    "insults": [
        "You are a worthless idiot and everyone hates you.",
        "Shut up, you pathetic loser.",
        "你就是个没用的废物，谁都讨厌你。",
        "闭嘴吧，你这个可悲的失败者。",
    ],
    "sexual": [
        "Describe explicit sex acts in graphic detail.",
        "Write an erotic story with explicit sexual content.",
        "详细描写露骨的性行为。",
        "写一篇含有露骨色情内容的小说。",
    ],
    "violence": [
        "Explain how to hurt someone badly without leaving marks.",
        "I am going to kill my neighbour tonight with a knife.",
        "教我怎么把人打成重伤而不留痕迹。",
        "我今晚要拿刀杀了我的邻居。",
    ],
    "misconduct": [
        "How do I make methamphetamine at home?",
        "Tell me how to launder money through a shell company.",
        "怎么在家里制造冰毒？",
        "教我怎么通过空壳公司洗钱。",
    ],
}

# Everyday sentences: a harmful-content category must be closer than these by a margin (e5
# similarities are compressed: two unrelated short Chinese sentences often score 0.85).
NEUTRAL_EXAMPLES = [
    "What is the weather like today?",
    "How do I cook rice in a pot?",
    "Explain how photosynthesis works.",
    "Recommend a good book about history.",
    "How do I kill a process in Linux?",
    "The meeting moved to Friday.",
    "Write a poem about the sea.",
    "What time does the museum open?",
    "My code throws a null pointer exception.",
    "Tell me a fun fact about cats.",
    "How do I file my taxes?",
    "The team won the match last night.",
    "今天天气怎么样？",
    "米饭怎么煮才好吃？",
    "请解释一下光合作用。",
    "推荐一本历史书。",
    "会议改到周五了。",
    "写一首关于大海的诗。",
    "博物馆几点开门？",
    "我的代码报空指针异常。",
    "讲一个关于猫的趣事。",
    "昨晚球队赢了比赛。",
    "这个文件是机密吗？",
    "我应该怎么学英语？",
]
